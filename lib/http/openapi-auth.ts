/**
 * The OpenAPI paths of the public auth routes (/api/auth…): sign-up, sign-in and its second steps,
 * codes, magic links, resets, refresh. Part of lib/http/openapi's document.
 */
import { str, obj, ref, jsonOp, OK, PASSWORD } from "./openapi-parts";

export const AUTH_PATHS: Record<string, unknown> = {
	"/api/auth/sign-up": {
		post: jsonOp(
			"Create an account; mails a verification link",
			obj(
				{
					username: str({ pattern: "^[a-zA-Z0-9_.-]{3,32}$" }),
					email: str({ format: "email" }),
					password: PASSWORD
				},
				["username", "email", "password"]
			),
			obj({ user: ref("User") }),
			[409]
		)
	},
	"/api/auth/verify-email": {
		post: jsonOp(
			"Confirm an e-mail address; the sign-up password is kept only if given",
			obj({ token: str(), password: str({ minLength: 1, maxLength: 1024 }) }, ["token"]),
			obj({ user: ref("User"), passwordKept: { type: "boolean" } }),
			[400, 401]
		)
	},
	"/api/auth/resend-verification": {
		post: jsonOp("Mail a new verification link", obj({ email: str() }, ["email"]), OK)
	},
	"/api/auth/sign-in": {
		post: jsonOp(
			"Sign in with username or e-mail and password; with TOTP on, or from a new device when that check is on, the answer is { mfaRequired | verificationRequired, challenge } instead",
			obj({ login: str(), password: str() }, ["login", "password"]),
			ref("Session"),
			[401]
		)
	},
	"/api/auth/magic-link": {
		post: jsonOp("Mail a sign-in link", obj({ email: str() }, ["email"]), OK)
	},
	"/api/auth/passkey/options": {
		post: jsonOp(
			"Request options for a passkey sign-in (WebAuthn Level 3 JSON for parseRequestOptionsFromJSON); `login` lists that account's passkeys; `challenge` (an mfaRequired answer's) asks for a second step",
			obj({ login: str(), challenge: str() }),
			{ type: "object" },
			[400]
		)
	},
	"/api/auth/sign-in/passkey": {
		post: jsonOp(
			"A password sign-in's second step (TOTP accounts) with a passkey: the mfaRequired challenge and an assertion for options asked with it",
			obj({ challenge: str(), response: { type: "object" } }, ["challenge", "response"]),
			ref("Session"),
			[400, 401]
		)
	},
	"/api/auth/passkey/sign-in": {
		post: jsonOp(
			"Sign in with a passkey: the browser's credential.toJSON() for the options' challenge",
			obj({ response: { type: "object" }, cookie: { type: "boolean" } }, ["response"]),
			ref("Session"),
			[400, 401]
		)
	},
	"/api/auth/magic-link/sign-in": {
		post: jsonOp(
			"Sign in with a magic link's token",
			obj({ token: str() }, ["token"]),
			ref("Session"),
			[400]
		)
	},
	"/api/auth/email-code": {
		post: jsonOp(
			"Mail a 6-digit sign-in code (same answer for any address)",
			obj({ email: str() }, ["email"]),
			OK,
			[429]
		)
	},
	"/api/auth/email-code/sign-in": {
		post: jsonOp(
			"Sign in with a mailed code (3 submissions per code, 10 per address an hour)",
			obj({ email: str(), code: str() }, ["email", "code"]),
			ref("Session"),
			[401, 429]
		)
	},
	"/api/auth/verify-email/code": {
		post: jsonOp(
			"Confirm an e-mail address with the code of the verification mail",
			obj({ email: str(), code: str(), password: str() }, ["email", "code"]),
			obj({ user: ref("User"), passwordKept: { type: "boolean" } }),
			[401, 429]
		)
	},
	"/api/auth/sign-in/totp": {
		post: jsonOp(
			"Complete a sign-in with TOTP on: a current code, or one recovery code (5 wrong codes lock the challenge)",
			obj({ challenge: str(), code: str(), recoveryCode: str() }, ["challenge"]),
			ref("Session"),
			[401, 429]
		)
	},
	"/api/auth/verify-device": {
		post: jsonOp(
			"Complete a sign-in from a new device with the mailed code; answers a deviceToken to send with later sign-ins",
			obj({ challenge: str(), code: str() }, ["challenge", "code"]),
			ref("Session"),
			[401, 429]
		)
	},
	"/api/auth/forgot-password": {
		post: jsonOp("Mail a password reset link", obj({ email: str() }, ["email"]), OK)
	},
	"/api/auth/reset-password": {
		post: jsonOp(
			"Set a new password with a reset link's token",
			obj(
				{
					token: str(),
					password: PASSWORD,
					confirmPassword: PASSWORD,
					keepApiKeys: { type: "boolean" }
				},
				["token", "password", "confirmPassword"]
			),
			OK,
			[400]
		)
	},
	"/api/auth/refresh": {
		post: jsonOp(
			"Exchange a refresh token for a new session (the old one is spent)",
			obj({ refreshToken: str() }, ["refreshToken"]),
			obj({
				accessToken: str(),
				refreshToken: str(),
				tokenType: str(),
				expiresIn: { type: "integer" }
			}),
			[401]
		)
	},
	"/api/auth/sign-out": {
		post: jsonOp("Revoke a refresh token", obj({ refreshToken: str() }, ["refreshToken"]), OK)
	}
};
