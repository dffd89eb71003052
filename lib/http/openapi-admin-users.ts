/**
 * The OpenAPI paths of user administration (services/auth/admin/user-admin.mixin, user-lock.mixin):
 * ADMIN_TOKEN, an `admin` API key, or an administrator's own session with a second factor.
 * lib/http/openapi.ts assembles the document.
 */
import { str, obj, ref, jsonOp, ADMIN_SECURITY, OK, type Schema } from "./openapi-parts";

/** Administration also takes an administrator's access token (Bearer, never the cookie). */
const SECURITY = [{ bearerJwt: [] }, ...ADMIN_SECURITY];
const idParam = { name: "id", in: "path", required: true, schema: str() };
const ROLES: Schema = { type: "array", items: str({ enum: ["user", "admin"] }), minItems: 1 };
const STATUS = str({ enum: ["unconfirmed", "active", "locked"] });

const USER_SUMMARY = {
	allOf: [
		ref("User"),
		obj({ status: STATUS, roles: ROLES, lastSignInAt: str({ nullable: true }) })
	]
};

const USER_DETAIL = {
	allOf: [
		USER_SUMMARY,
		obj({
			lock: obj({ at: str(), until: str({ nullable: true }), reason: str() }),
			secondFactors: obj({
				totp: { type: "boolean" },
				passkeys: { type: "array", items: obj({ id: str(), name: str() }) }
			}),
			sessions: { type: "array", items: { type: "object" } },
			apiKeys: { type: "array", items: { type: "object" } }
		})
	]
};

/** A POST on /api/admin/users/{id}/…: its body (null: none) and answer. */
function userOp(summary: string, body: Schema | null, ok: Schema = OK, extra: (403 | 409)[] = []) {
	return {
		...jsonOp(summary, body, ok, [401, 403, 404, ...extra], SECURITY),
		parameters: [idParam]
	};
}

const q = (name: string, schema: Schema) => ({ name, in: "query", required: false, schema });

export const ADMIN_USER_PATHS: Record<string, unknown> = {
	"/api/admin/users": {
		get: {
			...jsonOp(
				"Find users by username or address prefix (any case) and status, in username order",
				null,
				obj({
					users: { type: "array", items: USER_SUMMARY },
					next: str({ nullable: true })
				}),
				[401, 403],
				SECURITY
			),
			parameters: [
				q("q", str()),
				q("status", STATUS),
				q("cursor", str()),
				q("limit", { type: "integer", minimum: 1, maximum: 100 })
			]
		},
		post: jsonOp(
			"Create a user without a password; `invite` (default true) mails a link to set one",
			obj(
				{
					username: str(),
					email: str({ format: "email" }),
					roles: ROLES,
					invite: { type: "boolean" }
				},
				["username", "email"]
			),
			obj({ user: ref("User"), roles: ROLES, invited: { type: "boolean" } }),
			[401, 403, 409],
			SECURITY
		)
	},
	"/api/admin/users/{id}": {
		get: userOp(
			"One user: profile, status, roles, second factors, sessions, API keys (never a key)",
			null,
			USER_DETAIL
		),
		delete: userOp(
			"Delete the account and everything it owns (a recent session)",
			null,
			OK,
			[409]
		)
	},
	"/api/admin/users/{id}/roles": {
		put: userOp(
			"Set the roles (a recent session)",
			obj({ roles: ROLES }, ["roles"]),
			obj({ user: ref("User"), roles: ROLES }),
			[409]
		)
	},
	"/api/admin/users/{id}/lock": {
		post: userOp(
			"Lock: sessions, refresh tokens and API keys refused at once, sign-in 403 ACCOUNT_LOCKED (a recent session)",
			obj({ reason: str({ maxLength: 200 }), until: str({ format: "date-time" }) }, [
				"reason"
			]),
			obj({
				ok: { type: "boolean" },
				revoked: { type: "integer" },
				until: str({ nullable: true })
			}),
			[409]
		)
	},
	"/api/admin/users/{id}/unlock": { post: userOp("Unlock (no old session comes back)", null) },
	"/api/admin/users/{id}/sign-out-everywhere": {
		post: userOp(
			"End every session (and, with includeApiKeys, revoke the API keys)",
			obj({ includeApiKeys: { type: "boolean" } }),
			obj({
				ok: { type: "boolean" },
				revoked: { type: "integer" },
				apiKeysRevoked: { type: "integer" }
			})
		)
	},
	"/api/admin/users/{id}/sessions/{session}": {
		delete: {
			...userOp("End one session of the user", null),
			parameters: [idParam, { name: "session", in: "path", required: true, schema: str() }]
		}
	},
	"/api/admin/users/{id}/clear-attempts": {
		post: userOp("Clear the account's sign-in, code and mail attempt budgets", null)
	},
	"/api/admin/users/{id}/resend-verification": {
		post: userOp("Mail a new verification (or invitation) link", null, OK, [409])
	},
	"/api/admin/users/{id}/password-reset": { post: userOp("Mail a password-reset link", null) }
};
