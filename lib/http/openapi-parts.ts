/** Building blocks of the OpenAPI document (lib/http/openapi): schemas, responses, operations. */
export type Schema = Record<string, unknown>;

export const str = (extra: Schema = {}): Schema => ({ type: "string", ...extra });
export const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
	type: "object",
	additionalProperties: false,
	properties,
	...(required.length ? { required } : {})
});
export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

export const json = (schema: Schema) => ({ "application/json": { schema } });
export const html = { "text/html": { schema: str() } };
export const form = (properties: Record<string, Schema>, required: string[]) => ({
	"application/x-www-form-urlencoded": { schema: obj(properties, required) }
});

export function error(description: string) {
	return { description, content: json(ref("Error")) };
}

export const ERRORS = {
	400: error("Malformed request body or invalid link token"),
	401: error("Missing or invalid credentials"),
	403: error("Not allowed"),
	404: error("Not found"),
	409: error("Conflict"),
	413: error("Request body too large"),
	422: error("Validation error: `data` names the fields"),
	429: error("Too many requests (see Retry-After)"),
	503: error("A service behind the gateway is unavailable")
} as const;

export function responses(ok: Record<string, unknown>, ...codes: (keyof typeof ERRORS)[]) {
	const out: Record<string, unknown> = { ...ok };
	for (const code of [...codes, 413, 422, 429, 503] as (keyof typeof ERRORS)[]) {
		out[code] = ERRORS[code];
	}
	return out;
}

export function jsonOp(
	summary: string,
	body: Schema | null,
	ok: Schema,
	codes: (keyof typeof ERRORS)[] = [],
	security?: Security
) {
	return {
		summary,
		...(security ? { security } : {}),
		...(body ? { requestBody: { required: true, content: json(body) } } : {}),
		responses: responses({ 200: { description: "OK", content: json(ok) } }, ...codes)
	};
}

export type Security = Record<string, string[]>[];
export const USER_SECURITY: Security = [
	{ bearerJwt: [] },
	{ bearerApiKey: [] },
	{ apiKeyHeader: [] }
];
export const ADMIN_SECURITY: Security = [
	{ adminToken: [] },
	{ bearerApiKey: [] },
	{ apiKeyHeader: [] }
];

export const OK = obj({ ok: { type: "boolean" } });
export const PASSWORD = str({ minLength: 10, maxLength: 128, format: "password" });
export const TOKEN_TYPE = str({
	enum: ["verification", "passwordless", "password-reset", "api-key", "refresh", "action"]
});
export const tokenParam = {
	name: "token",
	in: "query",
	required: true,
	description: "The token from the mail",
	schema: str()
};
export const poolParam = { name: "pool", in: "path", required: true, schema: str() };

export function page(summary: string, parameters: unknown[], statuses: number[]) {
	const out: Record<string, unknown> = {};
	for (const s of statuses) out[s] = { description: `HTML page (${s})`, content: html };
	return { summary, parameters, responses: out };
}

export function pagePost(
	summary: string,
	fields: Record<string, Schema>,
	statuses: number[],
	optional: string[] = []
) {
	const required = Object.keys(fields).filter(f => !optional.includes(f));
	return {
		summary,
		requestBody: {
			required: true,
			content: form({ token: str(), ...fields }, ["token", ...required])
		},
		responses: Object.fromEntries(
			statuses.map(s => [s, { description: `HTML page (${s})`, content: html }])
		)
	};
}

export function poolOp(summary: string, body: Schema, ok: Schema, codes: (keyof typeof ERRORS)[]) {
	return {
		...jsonOp(summary, body, ok, [401, 403, ...codes], ADMIN_SECURITY),
		parameters: [poolParam]
	};
}

export const COMPONENTS = {
	securitySchemes: {
		bearerJwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
		bearerApiKey: {
			type: "http",
			scheme: "bearer",
			description: "An API key (`mtk_…`) as the bearer token"
		},
		apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
		adminToken: {
			type: "http",
			scheme: "bearer",
			description: "ADMIN_TOKEN from the gateway's environment"
		}
	},
	schemas: {
		Error: obj(
			{
				name: str(),
				message: str(),
				code: { type: "integer" },
				type: str(),
				data: {}
			},
			["name", "message", "code", "type"]
		),
		User: obj({
			id: str(),
			username: str(),
			email: str({ format: "email" }),
			emailVerified: { type: "boolean" },
			createdAt: str({ format: "date-time" }),
			updatedAt: str({ format: "date-time" })
		}),
		Session: obj({
			accessToken: str(),
			refreshToken: str(),
			tokenType: str({ enum: ["Bearer"] }),
			expiresIn: { type: "integer" },
			user: ref("User")
		}),
		AuditEntry: obj({
			id: str(),
			at: str({ format: "date-time" }),
			type: str(),
			outcome: str({ enum: ["success", "failure"] }),
			actor: str(),
			subject: str({ nullable: true }),
			ip: str({ nullable: true }),
			userAgent: str({ nullable: true }),
			requestId: str({ nullable: true }),
			node: str(),
			data: { type: "object" }
		}),
		Passkey: obj({
			id: str(),
			name: str(),
			createdAt: str({ format: "date-time" }),
			lastUsedAt: str({ format: "date-time", nullable: true }),
			deviceType: str({ enum: ["singleDevice", "multiDevice"] }),
			backedUp: { type: "boolean" },
			transports: { type: "array", items: str() },
			cloned: { type: "boolean" }
		}),
		TokenEntity: obj({
			id: str(),
			type: TOKEN_TYPE,
			owner: str(),
			name: str({ nullable: true }),
			scopes: { type: "array", items: str() },
			data: { type: "object", nullable: true },
			createdAt: str({ format: "date-time" }),
			expiresAt: str({ format: "date-time", nullable: true }),
			lastUsedAt: str({ format: "date-time", nullable: true })
		})
	}
};
