/**
 * User administration, the half that shuts a user out (docs/administration.md): lock and unlock,
 * sign out everywhere (optionally with the API keys), end one session, clear the attempt budgets,
 * delete the account.
 *
 * A lock ends every session and refresh token at once (their family is revoked, and access tokens
 * issued before it are refused), and while it holds the account's API keys are refused, every
 * sign-in answers 403 ACCOUNT_LOCKED and no session starts. The user store tells every node's
 * caller cache of the change, so other nodes refuse within a second (docs/api-keys.md). Unlocking
 * brings no session back; the API keys work again.
 */
import { accountLocked, noSuchSession, notOnYourself } from "../../../lib/auth/auth-errors";
import { fieldError } from "../../../lib/broker/field-error";
import { nextTokensCutoff } from "../../../lib/auth/jwt";
import { accountLimitKeys, codeLimitKey } from "../../../lib/auth/sign-in-attempts/attempt-limits";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import { isLocked } from "../../../lib/auth/admin/account-status";
import { isoDate } from "../../../lib/common/iso-date";
import { TOKEN_TYPES } from "../../../lib/tokens/token-types";
import type { UserEventPayload } from "../../../lib/auth/auth-types";
import { accountAction, USER_ID } from "./account-action";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthThis, IdParams } from "../auth-internals";

interface LockParams {
	id: string;
	reason: string;
	until?: Date;
}

const UserLockMixin = authMixin({
	actions: {
		/** POST /api/admin/users/:id/lock {reason, until?}: see the file header. Dangerous. */
		adminLockUser: {
			params: {
				$$strict: true,
				id: USER_ID,
				reason: { type: "string", min: 1, max: 200, trim: true },
				until: { type: "date", convert: true, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<LockParams>) {
				const { actor, user } = await this.adminAndTarget(ctx, true);
				if (actor.userId === user._id) throw notOnYourself("lock");
				const now = Date.now();
				const until = ctx.params.until?.getTime() ?? null;
				if (until !== null && until <= now) {
					throw fieldError(
						"until",
						"dateMin",
						"The 'until' field must be in the future."
					);
				}
				await this.recordAdminAction(ctx, actor, "userLocked", user._id, {
					reason: ctx.params.reason,
					until: until === null ? null : isoDate(until)
				});
				await this.store.update(
					user._id,
					{
						lockedAt: now,
						lockedUntil: until,
						lockReason: ctx.params.reason,
						tokensValidAfter: nextTokensCutoff(user.tokensValidAfter, now)
					},
					now
				);
				const revoked = await this.revokeAllSessions(ctx, user._id, "locked");
				return { ok: true, revoked, until: until === null ? null : isoDate(until) };
			}
		},

		/** POST /api/admin/users/:id/unlock: sign-in works again; no old session comes back. */
		adminUnlockUser: {
			params: { $$strict: true, id: USER_ID },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<IdParams>): Promise<{ ok: true }> {
				const { actor, user } = await this.adminAndTarget(ctx, false);
				await this.recordAdminAction(ctx, actor, "userUnlocked", user._id, {
					wasLocked: isLocked(user, Date.now())
				});
				await this.store.update(
					user._id,
					{ lockedAt: null, lockedUntil: null, lockReason: null },
					Date.now()
				);
				return { ok: true };
			}
		},

		/** POST /api/admin/users/:id/sign-out-everywhere {includeApiKeys?}. */
		adminSignOutUser: {
			params: {
				$$strict: true,
				id: USER_ID,
				includeApiKeys: { type: "boolean", optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<{ id: string; includeApiKeys?: boolean }>) {
				const { actor, user } = await this.adminAndTarget(ctx, false);
				const withKeys = ctx.params.includeApiKeys === true;
				await this.recordAdminAction(ctx, actor, "userSignedOut", user._id, {
					includeApiKeys: withKeys
				});
				const now = Date.now();
				await this.store.update(
					user._id,
					{ tokensValidAfter: nextTokensCutoff(user.tokensValidAfter, now) },
					now
				);
				const revoked = await this.revokeAllSessions(ctx, user._id, "admin-sign-out");
				const apiKeysRevoked = withKeys
					? (
							await ctx.call<{ removed: number }, object>("tokens.removeByOwner", {
								owner: user._id,
								type: TOKEN_TYPES.apiKey
							})
						).removed
					: 0;
				return { ok: true, revoked, apiKeysRevoked };
			}
		},

		/** DELETE /api/admin/users/:id/sessions/:session: ends one session of the user. */
		adminRevokeSession: {
			params: { $$strict: true, id: USER_ID, session: USER_ID },
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<{ id: string; session: string }>
			): Promise<{ ok: true }> {
				const actor = await this.requireAdmin(ctx, false);
				const family = await this.families.findById(ctx.params.session);
				if (!family || family.userId !== ctx.params.id || family.revokedAt !== null) {
					throw noSuchSession();
				}
				await this.recordAdminAction(ctx, actor, "sessionRevoked", family.userId, {
					session: family._id
				});
				await this.revokeFamily(ctx, family, "admin-revoked");
				ctx.emit<UserEventPayload & { session: string }>("auth.sessionRevoked", {
					userId: family.userId,
					session: family._id
				});
				return { ok: true };
			}
		},

		/** POST /api/admin/users/:id/clear-attempts: the account's sign-in, code and mail budgets. */
		adminClearAttempts: accountAction({
			audited: "attemptsCleared",
			dangerous: false,
			async act(_ctx, user) {
				await this.clearAttemptBudgets(user);
			}
		}),

		/** DELETE /api/admin/users/:id: the account and all it owns, as its owner's deletion. */
		adminDeleteUser: accountAction({
			audited: "userDeleted",
			dangerous: true,
			refuse(actor, user) {
				if (actor.userId === user._id) throw notOnYourself("delete");
			},
			async act(ctx, user) {
				await this.removeAccount(ctx, user, "deleted-by-admin");
			}
		})
	},

	methods: {
		async clearAttemptBudgets(this: AuthThis, user: UserRecord): Promise<void> {
			const code = codeLimitKey(user.email);
			await Promise.all([
				this.limiters.signIn.reset(accountLimitKeys.signIn(user._id)),
				this.limiters.totpAccount.reset(accountLimitKeys.totp(user._id)),
				this.limiters.codeAttempts.reset(code),
				this.limiters.codeHourly.reset(code),
				this.limiters.mail.reset(accountLimitKeys.mail(user.email))
			]);
		},

		/** A locked account may not sign in or start a session (403 ACCOUNT_LOCKED). */
		refuseLocked(this: AuthThis, user: UserRecord): void {
			if (isLocked(user, Date.now())) throw accountLocked();
		}
	}
});

export default UserLockMixin;
