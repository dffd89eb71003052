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
