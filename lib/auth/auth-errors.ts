/** The errors `auth` answers with: one place for their codes, types and messages. */
import { Errors } from "moleculer";
import { rateLimitHeaders, type KeyLimitResult } from "./api-key-usage/key-limits";

export function clientError(message: string, code: number, type: string, data?: unknown) {
	return new Errors.MoleculerClientError(message, code, type, data);
}

export const unauthorized = () => clientError("Sign in first.", 401, "UNAUTHORIZED");
export const invalidToken = () =>
	clientError("The token is invalid or has expired.", 401, "INVALID_TOKEN");
export const invalidLink = () =>
	clientError("This link is invalid or has expired.", 400, "INVALID_OR_EXPIRED_TOKEN");
export const invalidCredentials = () =>
	clientError("Wrong login or password.", 401, "INVALID_CREDENTIALS");
export const hashingBusy = (retryAfter: number) =>
	new Errors.MoleculerRetryableError(
		"Too many sign-ins are being checked: try again shortly.",
		503,
		"BUSY",
		{ retryAfter }
	);
export const sessionRequired = (what: string) =>
	clientError(`${what} needs a signed-in session, not an API key.`, 403, "SESSION_REQUIRED");
export const tooManyAttempts = (retryAfterMs: number) =>
	clientError("Too many attempts: try again later.", 429, "TOO_MANY_ATTEMPTS", {
		retryAfter: Math.max(1, Math.ceil(retryAfterMs / 1000))
	});

/** Administration (services/auth/admin/user-admin.mixin, user-lock.mixin). */
export const accountLocked = () =>
	clientError("This account is locked: contact the administrator.", 403, "ACCOUNT_LOCKED");
export const secondFactorRequired = () =>
	clientError(
		"Administration needs a second factor (TOTP or a passkey) on your account.",
		403,
		"SECOND_FACTOR_REQUIRED"
	);
export const forbidden = () => clientError("Forbidden", 403, "FORBIDDEN");
export const notFound = (what: string) => clientError(`No such ${what}.`, 404, "NOT_FOUND");
export const notOnYourself = (what: string) =>
	clientError(
		`An administrator cannot ${what} their own account here: another administrator, or ADMIN_TOKEN, can.`,
		409,
		"NOT_ON_YOURSELF"
	);
export const auditUnavailable = () =>
	new Errors.MoleculerRetryableError(
		"The audit trail cannot record this now, so nothing was changed: try again shortly.",
		503,
		"AUDIT_UNAVAILABLE"
	);

/** Passwords and codes. */
export const wrongPassword = (field: string, code: 401 | 403, message = "The password is wrong.") =>
	clientError(message, code, "INVALID_CREDENTIALS", { field });
export const invalidCode = (field = "code", message = "The code is wrong or has expired.") =>
	clientError(message, 401, "INVALID_CODE", { field });
export const codeRequired = () =>
	clientError("Give a current code or your password.", 422, "CODE_REQUIRED", { field: "code" });
export const passwordRequired = () => {
	const message = "Give your current password.";
	return clientError(message, 422, "PASSWORD_REQUIRED", [
		{ type: "required", field: "password", message }
	]);
};
export const emailNotVerified = () =>
	clientError(
		"Confirm your e-mail address first: use the link we mailed you.",
		403,
		"EMAIL_NOT_VERIFIED"
	);
/** TOTP enrolment out of order: already on, not pending, not on. */
export const totpAlreadyEnabled = () =>
	clientError("TOTP is already on.", 409, "TOTP_ALREADY_ENABLED");
export const totpNotPending = () =>
	clientError("Start TOTP enrolment first.", 409, "TOTP_NOT_PENDING");
export const totpNotEnabled = () => clientError("TOTP is not on.", 409, "TOTP_NOT_ENABLED");

/** Accounts, keys, sessions and passkeys: one definition each, used wherever they are thrown. */
export const alreadyRegistered = () =>
	clientError("That username or e-mail address is already registered.", 409, "ALREADY_EXISTS");
export const alreadyVerified = () =>
	clientError("The address is already confirmed.", 409, "ALREADY_VERIFIED");
export const noSuchApiKey = () => notFound("API key");
export const noSuchSession = () => notFound("session");
export const noSuchUser = () => notFound("user");
export const noSuchPasskey = () => notFound("passkey");
export const totpRequired = () =>
	clientError("Sign in with your TOTP code to manage API keys.", 403, "TOTP_REQUIRED");
export const recentSignInRequired = () =>
	clientError(
		"Sign in again, or give your password, to do this.",
		403,
		"RECENT_SIGN_IN_REQUIRED",
		{
			field: "password"
		}
	);
export const passkeyRefused = () =>
	clientError("That passkey did not sign you in.", 401, "PASSKEY_REFUSED");
export const passkeyNotVerified = () =>
	clientError("That passkey could not be added.", 400, "PASSKEY_NOT_VERIFIED");
export const passkeyExists = () =>
	clientError("This passkey is already registered.", 409, "PASSKEY_EXISTS");
export const passkeysUnavailable = () =>
	clientError("Passkeys are not set up on this server.", 403, "PASSKEYS_UNAVAILABLE");
export const scopeNotAllowed = (scopes: string[]) =>
	clientError("You may not grant these scopes.", 403, "SCOPE_NOT_ALLOWED", { scopes });
export const tooManyKeys = (max: number) =>
	clientError(`You already have ${max} API keys: revoke one first.`, 409, "TOO_MANY_KEYS");

/** The 429 the gateway answers a refused key with; `rateLimit` becomes the X-RateLimit-* headers. */
export function keyLimitRefused(result: KeyLimitResult): Error {
	const rateLimit = result.reported && rateLimitHeaders(result.reported);
	return result.code === "RATE_LIMITED"
		? clientError("Rate limit exceeded.", 429, "RATE_LIMITED", {
				retryAfter: result.retryAfter,
				rateLimit
			})
		: clientError("This key has no uses left.", 429, "USAGE_EXCEEDED", {
				...(result.retryAfter === undefined ? {} : { retryAfter: result.retryAfter }),
				rateLimit
			});
}
