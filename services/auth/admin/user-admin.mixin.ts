/**
 * User administration, the reading and inviting half (docs/administration.md): find users by name
 * or address prefix and status, one user's detail (never a key, hash or secret), create a user and
 * invite them by mail (a set-password link that also confirms the address), resend the
 * verification mail, send a password reset, and set roles. Who may call these and how each lands
 * in the audit trail: admin-access.mixin. Locks and the other changes that shut a user out:
 * user-lock.mixin.
 */
import { randomUUID } from "node:crypto";
import { fieldError } from "../../../lib/broker/field-error";
import {
	alreadyRegistered,
	alreadyVerified,
	noSuchUser,
	notOnYourself
} from "../../../lib/auth/auth-errors";
import { EMAIL, PAGE_LIMIT, USERNAME } from "../../../lib/auth/auth-params";
import { publicUser } from "../../../lib/auth/public-user";
import {
	DuplicateUserError,
	emailKeyOf,
	usernameKeyOf,
	type AccountStatus,
	type UserRecord
} from "../../../lib/auth/store/user-store";
import {
	ROLES,
	isLocked,
	rolesOf,
	scopesWithRoles,
	searchPrefix,
	statusOf
} from "../../../lib/auth/admin/account-status";
import { isoDate } from "../../../lib/common/iso-date";
import type { UserEventPayload } from "../../../lib/auth/auth-types";
import { isDisabled } from "../api-keys/api-key-settings.mixin";
import { authMixin } from "../auth-internals";
import { accountAction, USER_ID } from "./account-action";
import type { AuthContext, IdParams } from "../auth-internals";

const ROLE_LIST = {
	type: "array",
	items: { type: "enum", values: [...ROLES] },
	min: 1,
	max: ROLES.length
} as const;

/** A page of a search ends at a username key; clients get it opaque. */
function cursorOf(user: UserRecord): string {
	return Buffer.from(user.usernameKey, "utf8").toString("base64url");
}

function afterOf(cursor: string | undefined | null): string | undefined {
	if (cursor == null) return undefined;
	const key = Buffer.from(cursor, "base64url").toString("utf8");
	if (key === "" || usernameKeyOf(key) !== key || key.length > 32 || /[^a-z0-9_.-]/.test(key)) {
		throw fieldError("cursor", "cursor", "The 'cursor' is not one this service gave.");
	}
	return key;
}

/** One account as administrators see it in a list. */
function adminSummary(user: UserRecord, now: number) {
	return {
		...publicUser(user),
		status: statusOf(user, now),
		roles: rolesOf(user),
		lastSignInAt: user.lastSignInAt == null ? null : isoDate(user.lastSignInAt)
	};
}

const UserAdminMixin = authMixin({
	actions: {
		/** GET /api/admin/users: by username or address prefix (any case) and status, paged. */
		adminListUsers: {
			params: {
				$$strict: true,
				q: { type: "string", max: 254, optional: true },
				status: {
					type: "enum",
					values: ["unconfirmed", "active", "locked"],
					optional: true
				},
				cursor: { type: "string", max: 100, optional: true },
				limit: PAGE_LIMIT
			},
			async handler(
				ctx: AuthContext<{
					q?: string;
					status?: AccountStatus;
					cursor?: string;
					limit?: number;
				}>
			) {
				await this.requireAdmin(ctx, false);
				const limit = ctx.params.limit ?? 50;
				const now = Date.now();
				// `?? undefined`: validation lets an optional field through as null.
				const found = await this.store.search({
					prefix: searchPrefix(ctx.params.q),
					status: ctx.params.status ?? undefined,
					after: afterOf(ctx.params.cursor),
					limit: limit + 1,
					now
				});
				const shown = found.slice(0, limit);
				return {
					users: shown.map(u => adminSummary(u, now)),
					next: found.length > limit ? cursorOf(shown[shown.length - 1]) : null
				};
			}
		},

		/** GET /api/admin/users/:id: profile, status, roles, factors, sessions and keys (no secret). */
		adminGetUser: {
			params: { $$strict: true, id: USER_ID },
			async handler(ctx: AuthContext<IdParams>) {
				const { user } = await this.adminAndTarget(ctx, false);
				const now = Date.now();
				const [passkeys, sessions, keys] = await Promise.all([
					this.passkeys.listOfUser(user._id),
					this.families.listLiveOfUser(user._id, now),
					this.apiKeysOf(ctx, user._id)
				]);
				return {
					...adminSummary(user, now),
					lock: isLocked(user, now)
						? {
								at: isoDate(user.lockedAt!),
								until: user.lockedUntil == null ? null : isoDate(user.lockedUntil),
								reason: user.lockReason ?? null
							}
						: null,
					secondFactors: {
						totp: user.totpEnabledAt != null,
						passkeys: passkeys.map(p => ({ id: p._id, name: p.name }))
					},
					sessions: sessions.map(f => ({
						id: f._id,
						createdAt: isoDate(f.createdAt),
						lastUsedAt: isoDate(f.rotatedAt ?? f.createdAt),
						userAgent: f.userAgent ?? null,
						clientAddress: f.clientAddress ?? null
					})),
					apiKeys: keys.map(k => ({
						id: k.id,
						name: k.name,
						scopes: k.scopes,
						createdAt: k.createdAt,
						expiresAt: k.expiresAt,
						lastUsedAt: k.lastUsedAt,
						disabled: isDisabled(k)
					}))
				};
			}
		},

		/**
		 * POST /api/admin/users: an account without a password; with `invite` (the default) a
		 * mail whose link sets the password and confirms the address.
		 */
		adminCreateUser: {
			params: {
				$$strict: true,
				username: USERNAME,
				email: EMAIL,
				roles: { ...ROLE_LIST, optional: true },
				invite: { type: "boolean", optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<{
					username: string;
					email: string;
					roles?: string[];
					invite?: boolean;
				}>
			) {
				const actor = await this.requireAdmin(ctx, false);
				const roles = ctx.params.roles ?? ["user"];
				const now = Date.now();
				const user: UserRecord = {
					_id: randomUUID(),
					username: ctx.params.username,
					usernameKey: usernameKeyOf(ctx.params.username),
					email: ctx.params.email.trim(),
					emailKey: emailKeyOf(ctx.params.email),
					passwordHash: null,
					emailVerified: false,
					scopes: scopesWithRoles(this.settings.defaultScopes, roles),
					tokensValidAfter: 0,
					createdAt: now,
					updatedAt: now
				};
				const invite = ctx.params.invite !== false;
				await this.recordAdminAction(ctx, actor, "userCreated", user._id, {
					roles: roles.join(","),
					invite
				});
				try {
					await this.store.insert(user);
				} catch (err) {
					if (!(err instanceof DuplicateUserError)) throw err;
					throw alreadyRegistered();
				}
				ctx.emit<UserEventPayload>("auth.userCreated", { userId: user._id });
				// After the answer, as at sign-up: a mail server down does not undo the account
				// (resend-verification sends the invitation again).
				if (invite) this.sendLinkLater(ctx, user, "invitation");
				return { user: publicUser(user), roles: rolesOf(user), invited: invite };
			}
		},

		/** POST /api/admin/users/:id/resend-verification: a new verification mail (409 if confirmed). */
		adminResendVerification: accountAction({
			audited: "verificationResent",
			dangerous: false,
			refuse(_actor, user) {
				if (user.emailVerified) throw alreadyVerified();
			},
			async act(ctx, user) {
				const kind = user.passwordHash === null ? "invitation" : "verification";
				await this.sendLink(ctx, user, kind);
			}
		}),

		/** POST /api/admin/users/:id/password-reset: mails the user a reset link. */
		adminSendPasswordReset: accountAction({
			audited: "passwordResetSent",
			dangerous: false,
			async act(ctx, user) {
				await this.sendLink(ctx, user, "passwordReset");
			}
		}),

		/**
		 * PUT /api/admin/users/:id/roles: `user`, or `user` and `admin`. An administrator cannot
		 * take the role from themselves (so the last one cannot either). Dangerous: a recent session.
		 */
		adminSetRoles: {
			params: { $$strict: true, id: USER_ID, roles: ROLE_LIST },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<{ id: string; roles: string[] }>) {
				const { actor, user } = await this.adminAndTarget(ctx, true);
				if (actor.userId === user._id && !ctx.params.roles.includes("admin")) {
					throw notOnYourself("take the admin role from");
				}
				await this.recordAdminAction(ctx, actor, "rolesChanged", user._id, {
					from: rolesOf(user).join(","),
					to: [...new Set(["user", ...ctx.params.roles])].join(",")
				});
				const scopes = scopesWithRoles(user.scopes, ctx.params.roles);
				const updated = await this.store.update(user._id, { scopes }, Date.now());
				if (!updated) throw noSuchUser();
				return { user: publicUser(updated), roles: rolesOf(updated) };
			}
		}
	}
});

export default UserAdminMixin;
