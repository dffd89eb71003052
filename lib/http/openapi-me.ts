/**
 * The OpenAPI paths of the signed-in user's routes (/api/me…): profile, password, API keys,
 * sessions, account deletion. Part of lib/http/openapi's document.
 */
import { str, obj, ref, jsonOp, USER_SECURITY, OK, PASSWORD } from "./openapi-parts";

export const ME_PATHS: Record<string, unknown> = {
	"/api/me/totp": {
		post: jsonOp(
			"Start TOTP enrolment: the secret, its otpauth:// URI and a QR code (SVG), shown once",
			null,
			obj({ secret: str(), otpauthUri: str(), qrSvg: str() }),
			[401, 403, 409],
			USER_SECURITY
		),
		delete: jsonOp(
			"Turn TOTP off with a current code or the password",
			obj({ code: str(), password: str() }),
			OK,
			[401, 403, 409],
			USER_SECURITY
		)
	},
	"/api/me/totp/confirm": {
		post: jsonOp(
			"Turn TOTP on with a first code; answers 10 single-use recovery codes, shown once",
			obj({ code: str() }, ["code"]),
			obj({ enabled: { type: "boolean" }, recoveryCodes: { type: "array", items: str() } }),
			[401, 403, 409],
			USER_SECURITY
		)
	},
	"/api/me": {
		get: jsonOp("The signed-in user", null, ref("User"), [401], USER_SECURITY),
		delete: jsonOp(
			"Delete the account and every token, key and session of it",
			obj({ password: str({ description: "Required when the account has one" }) }),
			OK,
			[401, 403, 422],
			USER_SECURITY
		)
	},
	"/api/me/password": {
		post: jsonOp(
			"Change the password",
			obj({ currentPassword: str(), newPassword: PASSWORD }, [
				"currentPassword",
				"newPassword"
			]),
			OK,
			[401],
			USER_SECURITY
		)
	},
	"/api/me/passkeys/options": {
		post: jsonOp(
			"Creation options for a new passkey (WebAuthn Level 3 JSON for parseCreationOptionsFromJSON); needs a recent sign-in or the password",
			obj({ password: str() }),
			{ type: "object" },
			[401, 403],
			USER_SECURITY
		)
	},
	"/api/me/passkeys": {
		get: jsonOp(
			"The user's passkeys, oldest first",
			null,
			{ type: "array", items: ref("Passkey") },
			[401],
			USER_SECURITY
		),
		post: jsonOp(
			"Add a passkey: the browser's credential.toJSON() for the options' challenge",
			obj({ response: { type: "object" }, name: str({ maxLength: 100 }) }, ["response"]),
			ref("Passkey"),
			[400, 401, 409],
			USER_SECURITY
		)
	},
	"/api/me/passkeys/{id}": {
		put: {
			...jsonOp(
				"Rename one of the user's passkeys",
				obj({ name: str({ maxLength: 100 }) }, ["name"]),
				ref("Passkey"),
				[401, 404],
				USER_SECURITY
			),
			parameters: [{ name: "id", in: "path", required: true, schema: str() }]
		},
		delete: {
			...jsonOp("Remove one of the user's passkeys", null, OK, [401, 404], USER_SECURITY),
			parameters: [{ name: "id", in: "path", required: true, schema: str() }]
		}
	},
	"/api/me/security-events": {
		get: {
			...jsonOp(
				"The user's own security events (sign-ins, failures, changes), newest first",
				null,
				obj({
					events: {
						type: "array",
						items: obj({
							at: str({ format: "date-time" }),
							type: str(),
							method: str({ nullable: true }),
							outcome: str({ enum: ["success", "failure"] }),
							ip: str({ nullable: true }),
							userAgent: str({ nullable: true })
						})
					},
					next: str({ nullable: true })
				}),
				[401, 422],
				USER_SECURITY
			),
			parameters: [
				{ name: "limit", in: "query", required: false, schema: { type: "integer" } },
				{ name: "cursor", in: "query", required: false, schema: str() }
			]
		}
	},
	"/api/me/sign-out-everywhere": {
		post: jsonOp(
			"Revoke every refresh token of the user (and API keys with includeApiKeys)",
			obj({ includeApiKeys: { type: "boolean" } }),
			obj({
				ok: { type: "boolean" },
				revoked: { type: "integer" },
				apiKeysRevoked: { type: "integer" }
			}),
			[401, 403],
			USER_SECURITY
		)
	},
	"/api/me/api-keys": {
		get: jsonOp(
			"The user's API keys (never the keys themselves)",
			null,
			{ type: "array", items: ref("TokenEntity") },
			[401],
			USER_SECURITY
		),
		post: jsonOp(
			"Create an API key; the key is in the answer, this once",
			obj(
				{
					name: str({ minLength: 1, maxLength: 100 }),
					expiry: { type: "integer", description: "Lifetime in seconds" },
					scopes: { type: "array", items: str() }
				},
				["name"]
			),
			obj({ key: ref("TokenEntity"), token: str() }),
			[401],
			USER_SECURITY
		)
	},
	"/api/me/api-keys/{id}": {
		delete: {
			...jsonOp("Revoke one of the user's API keys", null, OK, [401, 404], USER_SECURITY),
			parameters: [{ name: "id", in: "path", required: true, schema: str() }]
		},
		put: {
			...jsonOp(
				"Enable or disable a key without deleting it, or replace its metadata",
				obj({ enabled: { type: "boolean" }, metadata: { type: "object" } }),
				ref("TokenEntity"),
				[401, 403, 404],
				USER_SECURITY
			),
			parameters: [{ name: "id", in: "path", required: true, schema: str() }]
		}
	},
	"/api/me/api-keys/{id}/reroll": {
		post: {
			...jsonOp(
				"A new key with the same settings; the old one works on for `overlap` seconds (0-86400)",
				obj({ overlap: { type: "integer" } }),
				obj({ key: ref("TokenEntity"), token: str(), previous: { type: "object" } }),
				[401, 403, 404],
				USER_SECURITY
			),
			parameters: [{ name: "id", in: "path", required: true, schema: str() }]
		}
	},

	"/api/me/sessions": {
		get: jsonOp(
			"The user's live sessions (one per sign-in), oldest first",
			null,
			{
				type: "array",
				items: obj(
					{
						id: str(),
						createdAt: str({ format: "date-time" }),
						lastUsedAt: str({ format: "date-time" }),
						userAgent: { type: "string", nullable: true },
						clientAddress: {
							type: "string",
							nullable: true,
							description: "The network only: an IPv4 /24 or an IPv6 /48"
						},
						current: { type: "boolean" }
					},
					["id", "createdAt", "lastUsedAt", "current"]
				)
			},
			[401, 403],
			USER_SECURITY
		)
	},
	"/api/me/sessions/{id}": {
		delete: {
			...jsonOp(
				"End one of the user's sessions: its refresh and access tokens stop working",
				null,
				OK,
				[401, 403, 404],
				USER_SECURITY
			),
			parameters: [{ name: "id", in: "path", required: true, schema: str() }]
		}
	}
};
