/** The errors `auth` answers with: one place for their codes, types and messages. */
import { Errors } from "moleculer";

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
