/**
 * Request URLs as they may appear in logs: tokens masked.
 *
 * Mail links carry single-use tokens in the query (`/verify-email?token=…`) or the path
 * (`/token/<token>`), and a log line is read by more people than the token was meant for. Masked:
 * every path segment after `/token/`, the values of query keys that name a secret, and any path
 * segment or query value shaped like one of our tokens or a JWT, wherever it appears.
 */
export const MASK = "<masked>";

/** Query keys whose values are always secret (compared case-insensitively, `_`/`-` ignored). */
const SECRET_KEYS = new Set([
	"token",
	"key",
	"apikey",
	"accesstoken",
	"refreshtoken",
	"password",
	"newpassword",
	"currentpassword",
	"confirmpassword",
	"secret",
	"code"
]);

/** Path prefixes whose next segment is a token. */
const TOKEN_PATHS = ["/token/"];

/**
 * Our token format (`mtk_…`) and anything JWT-shaped. Every pattern here is anchored or bounded
 * so that it runs in linear time: an unanchored `eyJ[\w-]*\.` took time quadratic in the length
 * of a URL full of "eyJ", before any rate limit could refuse the request.
 */
const TOKEN_SHAPED = /^[a-z][a-z0-9]{1,9}_[0-9A-Za-z]{16,}$|^eyJ[\w-]*\.[\w-]*\.[\w-]*$/;

/** Our token format anywhere inside a string (its prefix is at most 10 characters long). */
const CONTAINS_OUR_TOKEN = /[a-z][a-z0-9]{1,9}_[0-9A-Za-z]{16}/;

/**
 * Whether `s` holds something JWT-shaped (`eyJ…` then two dots, base64url between them), e.g. a
 * query key such as `owner[eyJ…]`. One pass: within a run of base64url characters and dots, the
 * first "eyJ" starts a JWT shape exactly when two dots follow it in the same run.
 */
function containsJwtShape(s: string): boolean {
	let start = s.indexOf("eyJ");
	while (start !== -1) {
		let dots = 0;
		let i = start + 3;
		for (; i < s.length; i++) {
			const c = s.charCodeAt(i);
			if (c === 46 /* . */) {
				if (++dots === 2) return true;
			} else if (!isBase64Url(c)) {
				break;
			}
		}
		// The next "eyJ" past this run: one inside it would find the same dots or fewer.
		start = s.indexOf("eyJ", i);
	}
	return false;
}

function isBase64Url(c: number): boolean {
	return (
		(c >= 48 && c <= 57) ||
		(c >= 65 && c <= 90) ||
		(c >= 97 && c <= 122) ||
		c === 45 ||
		c === 95
	);
}

function containsToken(s: string): boolean {
	return CONTAINS_OUR_TOKEN.test(s) || containsJwtShape(s);
}

function safeDecode(value: string): string {
	try {
		return decodeURIComponent(value.replace(/\+/g, " "));
	} catch {
		return value;
	}
}

function isSecretKey(key: string): boolean {
	return SECRET_KEYS.has(safeDecode(key).replace(/\[.*$/, "").replace(/[-_]/g, "").toLowerCase());
}

function maskPath(path: string): string {
	for (const prefix of TOKEN_PATHS) {
		// Routes match case-insensitively, so "/TOKEN/…" reaches the same page.
		if (path.toLowerCase().startsWith(prefix) && path.length > prefix.length) {
			return path.slice(0, prefix.length) + MASK;
		}
	}
	return path
		.split("/")
		.map(segment => (TOKEN_SHAPED.test(safeDecode(segment)) ? MASK : segment))
		.join("/");
}

function maskQuery(query: string): string {
	return query
		.split("&")
		.map(pair => {
			const eq = pair.indexOf("=");
			if (eq === -1) return containsToken(safeDecode(pair)) ? MASK : pair;
			const key = pair.slice(0, eq);
			// A key is a name, not a place for a token: a pair whose key holds one is masked whole.
			if (containsToken(safeDecode(key))) return `${MASK}=${MASK}`;
			const value = pair.slice(eq + 1);
			return isSecretKey(key) || TOKEN_SHAPED.test(safeDecode(value))
				? `${key}=${MASK}`
				: pair;
		})
		.join("&");
}

/** The URL (path and query, as in `req.originalUrl`) with tokens masked. */
export function maskUrl(url: string): string {
	const hashAt = url.indexOf("#");
	const withoutHash = hashAt === -1 ? url : url.slice(0, hashAt);
	const queryAt = withoutHash.indexOf("?");
	if (queryAt === -1) return maskPath(withoutHash);
	return `${maskPath(withoutHash.slice(0, queryAt))}?${maskQuery(withoutHash.slice(queryAt + 1))}`;
}
