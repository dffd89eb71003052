/**
 * What an HTTP client sees of an error: a status and a small JSON body, never a stack, an internal
 * message or another node's details.
 *
 * - Client errors (4xx) from our services keep their message and `type`; only validation errors keep
 *   `data` (field names and rule messages: the validator already strips rejected values), and
 *   423/429 keep a numeric `data.retryAfter` (seconds), and an API key's 429 its `data.rateLimit`.
 * - Moleculer's "service not found / not available" (code 404 on the wire) mean a service is down,
 *   not that the resource is missing: they become 503, as does a circuit that is open.
 * - Body-parser errors become 400 (malformed body) or 413 (too large).
 * - Timeouts become 504; everything else a generic 500.
 */
export interface PublicError {
	status: number;
	body: {
		name: string;
		message: string;
		code: number;
		type: string;
		data?: unknown;
	};
}

interface ErrorLike {
	name?: unknown;
	message?: unknown;
	code?: unknown;
	status?: unknown;
	statusCode?: unknown;
	type?: unknown;
	data?: unknown;
}

const SERVICE_DOWN = new Set([
	"ServiceNotFoundError",
	"ServiceNotAvailableError",
	"ServiceUnavailableError",
	"BrokerDisconnectedError"
]);

/**
 * The same by moleculer's `type`, for errors whose class name did not survive (a subclass, a remote
 * node's error rebuilt under another name): all of them carry code 404 on the wire. An open circuit
 * breaker takes its endpoint out, so callers get SERVICE_NOT_AVAILABLE.
 */
const SERVICE_DOWN_TYPES = new Set(["SERVICE_NOT_FOUND", "SERVICE_NOT_AVAILABLE"]);

/** Only these fields of a validation error entry reach the client. */
const VALIDATION_ENTRY_FIELDS = ["type", "field", "message", "expected"] as const;

/** An answer of the gateway's own: the status is also the body's code. */
function gatewayError(status: number, name: string, message: string, type: string): PublicError {
	return { status, body: { name, message, code: status, type } };
}

export const SERVICE_UNAVAILABLE: PublicError = gatewayError(
	503,
	"ServiceUnavailableError",
	"Service unavailable, try again shortly",
	"SERVICE_UNAVAILABLE"
);

const INTERNAL: PublicError = gatewayError(
	500,
	"InternalServerError",
	"Internal server error",
	"INTERNAL_ERROR"
);

function text(value: unknown, fallback: string, max = 300): string {
	return typeof value === "string" && value ? value.slice(0, max) : fallback;
}

function validationData(data: unknown): unknown[] {
	if (!Array.isArray(data)) return [];
	return data.slice(0, 50).map(entry => {
		const out: Record<string, unknown> = {};
		if (entry && typeof entry === "object") {
			for (const key of VALIDATION_ENTRY_FIELDS) {
				const value = (entry as Record<string, unknown>)[key];
				if (value !== undefined && typeof value !== "object") out[key] = value;
			}
		}
		return out;
	});
}

/**
 * zlib's codes for a body that does not decompress (gzip, deflate: "Z_DATA_ERROR"…; brotli:
 * "ERR__ERROR_FORMAT_…"). moleculer-web wraps the body parser's error with that string as its
 * `code`, and no `type`: without this it would be a 500, logged for every such request.
 */
const DECOMPRESSION_CODE = /^(Z_[A-Z_]+|ERR__ERROR_[A-Z0-9_]+)$/;

function bodyParserError(err: ErrorLike, status: number): PublicError | null {
	if (typeof err.code === "string" && DECOMPRESSION_CODE.test(err.code)) {
		return gatewayError(400, "BadRequestError", "Malformed request body", "INVALID_BODY");
	}
	// body-parser's errors carry `status` and a dotted `type` such as "entity.too.large".
	if (typeof err.type !== "string" || !/^(entity|request|charset|encoding)\./.test(err.type))
		return null;
	if (status === 413) {
		return gatewayError(413, "PayloadTooLarge", "Request body too large", "PAYLOAD_TOO_LARGE");
	}
	if (status === 415) {
		return gatewayError(
			415,
			"UnsupportedMediaType",
			"Unsupported content encoding or charset",
			"UNSUPPORTED_MEDIA_TYPE"
		);
	}
	// A JSON parse error's message quotes the body: never repeat it.
	return gatewayError(400, "BadRequestError", "Malformed request body", "INVALID_BODY");
}

export function toPublicError(error: unknown): PublicError {
	if (!error || typeof error !== "object") return INTERNAL;
	const err = error as ErrorLike;
	const name = text(err.name, "Error", 100);
	if (SERVICE_DOWN.has(name)) return SERVICE_UNAVAILABLE;
	if (typeof err.type === "string" && SERVICE_DOWN_TYPES.has(err.type))
		return SERVICE_UNAVAILABLE;

	const code =
		typeof err.code === "number"
			? err.code
			: typeof err.status === "number"
				? err.status
				: typeof err.statusCode === "number"
					? err.statusCode
					: 500;

	const fromBodyParser = bodyParserError(err, code);
	if (fromBodyParser) return fromBodyParser;

	if (code === 503 && err.type === "AUDIT_UNAVAILABLE") {
		// An admin action not made: the administrator must know it was the audit trail.
		return gatewayError(503, name, text(err.message, "Unavailable"), err.type);
	}
	if (code === 503) {
		// A node that refuses work it cannot take now (e.g. too many password checks) says when
		// to come back.
		const retryAfter = (err.data as { retryAfter?: unknown } | undefined)?.retryAfter;
		return typeof retryAfter === "number"
			? {
					...SERVICE_UNAVAILABLE,
					body: { ...SERVICE_UNAVAILABLE.body, data: { retryAfter } }
				}
			: SERVICE_UNAVAILABLE;
	}
	if (code === 504 || name === "RequestTimeoutError") {
		return gatewayError(504, "GatewayTimeoutError", "The request timed out", "REQUEST_TIMEOUT");
	}
	if (code >= 400 && code < 500 && Number.isInteger(code)) {
		const body: PublicError["body"] = {
			name,
			message: text(err.message, "Request failed"),
			code,
			type: text(err.type, "CLIENT_ERROR", 100)
		};
		if (code === 422 || name === "ValidationError") body.data = validationData(err.data);
		const retryAfter = (err.data as { retryAfter?: unknown } | undefined)?.retryAfter;
		if ((code === 423 || code === 429) && typeof retryAfter === "number") {
			body.data = { retryAfter };
		}
		const rateLimit = code === 429 ? rateLimitOf(err.data) : null;
		if (rateLimit) body.data = { ...(body.data as object | undefined), rateLimit };
		return { status: code, body };
	}
	return INTERNAL;
}

/** An API key's refused limit (services/auth/api-keys/key-limits.mixin): three numbers, nothing else. */
function rateLimitOf(data: unknown): { limit: number; remaining: number; reset: number } | null {
	const r = (data as { rateLimit?: Record<string, unknown> } | undefined)?.rateLimit;
	if (!r || typeof r !== "object") return null;
	const { limit, remaining, reset } = r;
	return typeof limit === "number" && typeof remaining === "number" && typeof reset === "number"
		? { limit, remaining, reset }
		: null;
}
