/**
 * Every error a caller of this project can get, by its `type` (the `type` of a moleculer error, the
 * `type` of the gateway's JSON body): its HTTP status and what it means. docs/errors.md is generated
 * from it (`npm run docs:generate`); a test holds the code to it (every type thrown is here, with
 * its status, and every type here is thrown).
 */
export interface CatalogueEntry {
	type: string;
	status: number;
	meaning: string;
}

const entry = (type: string, status: number, meaning: string): CatalogueEntry => ({
	type,
	status,
	meaning
});

export const ERROR_CATALOGUE: readonly CatalogueEntry[] = [
	// Requests the caller must change.
	entry(
		"VALIDATION_ERROR",
		422,
		"A parameter is missing, unknown or invalid; `data` names each field, never its value."
	),
	entry("INVALID_BODY", 400, "The body is not valid JSON or form data, or does not decompress."),
	entry("INVALID_DATA", 400, "The store refused a value (e.g. text PostgreSQL cannot keep)."),
	entry(
		"QUERY_NOT_ALLOWED",
		400,
		"A route that takes a secret was called with a query string: send it in the body."
	),
	entry("PAYLOAD_TOO_LARGE", 413, "The body is larger than BODY_LIMIT."),
	entry("URI_TOO_LONG", 414, "The URL is longer than 4,096 characters."),
	entry(
		"UNSUPPORTED_MEDIA_TYPE",
		415,
		"A content encoding or charset the gateway does not read."
	),
	entry("CODE_REQUIRED", 422, "Turning TOTP off needs a current code or the password."),
	entry("PASSWORD_REQUIRED", 422, "Deleting an account with a password needs it."),
	// Who is calling.
	entry("UNAUTHORIZED", 401, "No credential, or one that does not sign anybody in."),
	entry(
		"INVALID_TOKEN",
		401,
		"The access token, refresh token or API key is invalid, expired or revoked."
	),
	entry(
		"INVALID_CREDENTIALS",
		401,
		"Wrong login or password (403 when changing the password or deleting the account)."
	),
	entry(
		"INVALID_CODE",
		401,
		"The e-mailed code, TOTP code or recovery code is wrong, expired, spent or locked."
	),
	entry(
		"FORBIDDEN",
		403,
		"The credential may not use this route (e.g. an API key without the scope)."
	),
	entry("SESSION_REQUIRED", 403, "This needs a signed-in session, not an API key."),
	entry("RECENT_SIGN_IN_REQUIRED", 403, "Sign in again (or give the password) to do this."),
	entry(
		"ACCOUNT_LOCKED",
		403,
		"An administrator locked this account: no sign-in, session or key."
	),
	entry(
		"SECOND_FACTOR_REQUIRED",
		403,
		"An administrator's session is accepted on the admin routes only with TOTP or a passkey enrolled."
	),
	entry(
		"PASSKEY_REFUSED",
		401,
		"A passkey sign-in failed: unknown, removed or cloned passkey, spent challenge, or a wrong signature, origin or account."
	),
	entry(
		"PASSKEY_NOT_VERIFIED",
		400,
		"A passkey's registration answer did not verify (challenge, origin, RP id or attestation)."
	),
	entry("PASSKEY_EXISTS", 409, "This passkey is already registered."),
	entry(
		"PASSKEYS_UNAVAILABLE",
		403,
		"Passkeys are off: production derived an IP relying party from PUBLIC_URL (set WEBAUTHN_RP_ID)."
	),
	entry(
		"TOTP_REQUIRED",
		403,
		"Managing API keys needs a session that passed TOTP: sign in again."
	),
	entry(
		"EMAIL_NOT_VERIFIED",
		403,
		"Confirm the e-mail address before signing in with the password."
	),
	entry("SCOPE_NOT_ALLOWED", 403, "An API key may not carry scopes its owner does not have."),
	entry("CROSS_SITE_REQUEST", 403, "A cookie-authenticated change came from another origin."),
	entry("ACTION_NOT_ALLOWED", 403, "The one-time link's action is not (or no longer) allowed."),
	entry("NOT_HOLDER", 403, "The pool token is leased to another client."),
	entry("NOT_ASSIGNED", 403, "The pool token is not leased to anybody."),
	entry("POOL_FULL", 403, "The pool has as many tokens as its size allows."),
	// What the request names.
	entry("NOT_FOUND", 404, "No such API key or session among the caller's own, or no such user."),
	entry(
		"INVALID_OR_EXPIRED_TOKEN",
		400,
		"The mail link or one-time link is invalid, expired or used (404 for a one-time link)."
	),
	entry("NO_TOKEN_AVAILABLE", 404, "Every token of the pool is leased."),
	entry("ALREADY_EXISTS", 409, "The username or e-mail address is taken."),
	entry("TOO_MANY_KEYS", 409, "The user holds the most API keys allowed (50): revoke one first."),
	entry(
		"NOT_ON_YOURSELF",
		409,
		"An administrator may not lock, delete or take the admin role from their own account."
	),
	entry(
		"ALREADY_VERIFIED",
		409,
		"The user's address is already confirmed: no verification mail."
	),
	entry("TOTP_ALREADY_ENABLED", 409, "TOTP is already on."),
	entry("TOTP_NOT_ENABLED", 409, "TOTP is not on."),
	entry("TOTP_NOT_PENDING", 409, "Confirm TOTP only after starting its enrolment."),
	entry(
		"LOCKED",
		423,
		"The one-time link is being redeemed by another request; `data.retryAfter`."
	),
	// Limits.
	entry(
		"TOO_MANY_ATTEMPTS",
		429,
		"Too many sign-in, code or mail attempts for this account or address; `data.retryAfter`."
	),
	entry(
		"TOO_MANY_FAILURES",
		429,
		"Too many failed token lookups from this client; `data.retryAfter`."
	),
	entry(
		"RATE_LIMITED",
		429,
		"The API key's rate limit is used up; `Retry-After` and `X-RateLimit-*`."
	),
	entry(
		"USAGE_EXCEEDED",
		429,
		"The API key has no credits left; `Retry-After` when they refill."
	),
	// The service, not the request.
	entry("INTERNAL_ERROR", 500, "An unexpected failure; the node's log has the cause."),
	entry("MAIL_NOT_SENT", 502, "The mail server refused or could not be reached."),
	entry(
		"AUDIT_UNAVAILABLE",
		503,
		"An admin action is recorded before it is made: the audit trail could not record it, so nothing changed."
	),
	entry("BUSY", 503, "Too many password checks at once on this node; `data.retryAfter`."),
	entry("POOL_BUSY", 503, "The pool is being changed by another request: try again."),
	entry(
		"ACTION_UNAVAILABLE",
		503,
		"The one-time link's action has no node right now; the link is not spent."
	),
	entry(
		"STORE_UNAVAILABLE",
		503,
		"The store cannot be reached or written right now: try again later."
	),
	entry(
		"NODE_UNRESPONSIVE",
		503,
		"The node serving the call stopped answering; a write may or may not have been applied."
	),
	entry(
		"SERVICE_UNAVAILABLE",
		503,
		"No node serves the action right now, or the gateway is shutting down."
	),
	entry("REQUEST_TIMEOUT", 504, "A call between services did not answer within REQUEST_TIMEOUT.")
];

/** docs/errors.md. */
export function renderErrorCatalogue(): string {
	const rows = [...ERROR_CATALOGUE]
		.sort((a, b) => a.status - b.status || a.type.localeCompare(b.type))
		.map(e => `| \`${e.type}\` | ${e.status} | ${e.meaning.replace(/\|/g, "\\|")} |`);
	return [
		"# Errors",
		"",
		"Every error a caller can get: the `type` of the moleculer error (over the broker) and of the",
		"gateway's JSON body `{ name, message, code, type, data? }` (over HTTP), with its status. Generated",
		"from `lib/http/error-catalogue.ts` (`npm run docs:generate`); a test fails when the code throws a",
		"type that is not listed, with another status, or when a listed one is thrown nowhere.",
		"",
		"| type | status | meaning |",
		"| --- | --- | --- |",
		...rows,
		""
	].join("\n");
}
