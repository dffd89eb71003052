/**
 * The end of an account: deleted by its owner (with the password, or for an account without one,
 * from a session started in the last few minutes), by an administrator (admin/user-lock.mixin),
 * or by the nightly job when its address was never confirmed in time. Everything it owns goes
 * with it: sessions, API keys, pending mail links, passkeys. Emits `auth.userDeleted`.
 */
import { type Context } from "moleculer";
import {
	clientError,
	tooManyAttempts,
	passwordRequired,
	wrongPassword
} from "../../../lib/auth/auth-errors";
import { GIVEN_PASSWORD } from "../../../lib/auth/auth-params";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import type { UserEventPayload } from "../../../lib/auth/auth-types";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthThis } from "../auth-internals";

/** An account without a password is deleted only from a session this young (a fresh sign-in). */
export const RECENT_SESSION_MS = 5 * 60_000;

const AccountDeletionMixin = authMixin({
	actions: {
		/**
		 * Deletes the signed-in user's account and everything they own in `tokens` (API keys,
		 * sessions, pending mail links): with the current password, or, for an account without
		 * one, from a session started within RECENT_SESSION_MS. Emits `auth.userDeleted`.
		 */
		deleteAccount: {
			params: { $$strict: true, password: { ...GIVEN_PASSWORD, optional: true } },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<{ password?: string }>): Promise<{ ok: true }> {
				const caller = this.requireSession(ctx, "Deleting the account");
				const user = await this.requireCallerRecord(ctx);
				if (user.passwordHash !== null) {
					const { password } = ctx.params;
					// `== null`: validation lets an optional field through as null.
					if (password == null) {
						throw passwordRequired();
					}
					const key = this.accountLimitKey(user);
					const attempt = await this.limiters.signIn.hit(key);
					if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterMs);
					if (!(await this.passwordMatches(password, user.passwordHash))) {
						throw wrongPassword("password", 403);
					}
				} else {
					const session =
						caller.session === undefined
							? null
							: await this.families.findById(caller.session);
					if (!session || Date.now() - session.createdAt > RECENT_SESSION_MS) {
						throw clientError(
							"Sign in again (with a magic link) to delete this account.",
							403,
							"RECENT_SIGN_IN_REQUIRED"
						);
					}
				}
				await this.removeAccount(ctx, user, "deleted");
				return { ok: true };
			}
		}
	},

	methods: {
		/** A user and everything they hold: tokens of every type, sessions. */
		async removeAccount(
			this: AuthThis,
			ctx: Context | null,
			user: UserRecord,
			reason: string
		): Promise<void> {
			const call = <T>(action: string, params: object) =>
				ctx
					? ctx.call<T, object>(action, params)
					: this.broker.call<T, object>(action, params);
			await this.families.revokeAllOfUser(user._id, reason, Date.now());
			await call("tokens.removeByOwner", { owner: user._id });
			await this.passkeys.removeAllOfUser(user._id);
			if (await this.store.remove(user._id)) {
				this.broker.emit<UserEventPayload & { reason: string }>("auth.userDeleted", {
					userId: user._id,
					reason
				});
			}
		},

		/** Accounts never confirmed within `unconfirmedAccountTtl`, in batches. */
		async removeExpiredUnconfirmed(this: AuthThis): Promise<number> {
			const cutoff = Date.now() - this.settings.unconfirmedAccountTtl * 1000;
			let removed = 0;
			for (;;) {
				const batch = await this.store.findUnconfirmedBefore(cutoff, 100);
				if (batch.length === 0) return removed;
				for (const user of batch) await this.removeAccount(null, user, "unconfirmed");
				removed += batch.length;
			}
		}
	}
});

export default AccountDeletionMixin;
