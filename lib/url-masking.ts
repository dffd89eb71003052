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

/** Our token format (`mtk_…`) and anything JWT-shaped. */
const TOKEN_SHAPED = /^[a-z][a-z0-9]{1,9}_[0-9A-Za-z]{16,}$|^eyJ[\w-]*\.[\w-]*\.[\w-]*$/;

/** The same anywhere inside a string, e.g. a query key such as `owner[mtk_…]`. */
const CONTAINS_TOKEN = /[a-z][a-z0-9]{1,9}_[0-9A-Za-z]{16,}|eyJ[\w-]*\.[\w-]*\.[\w-]*/;

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
			if (eq === -1) return CONTAINS_TOKEN.test(safeDecode(pair)) ? MASK : pair;
			const key = pair.slice(0, eq);
			// A key is a name, not a place for a token: a pair whose key holds one is masked whole.
			if (CONTAINS_TOKEN.test(safeDecode(key))) return `${MASK}=${MASK}`;
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
