/**
 * Passwords of `auth`: reset by mail (account recovery), change with the current password, the
 * bounded scrypt gate (lib/auth/hash-gate) and re-hashing at a higher cost.
 */

import { TOKEN_TYPES } from "../../../lib/tokens/token-types";
import { type Context } from "moleculer";
import { HashGateFullError } from "../../../lib/auth/hash-gate";
import { nextTokensCutoff } from "../../../lib/auth/jwt";
import { hashPassword, needsRehash, verifyPassword } from "../../../lib/auth/password";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import { GIVEN_PASSWORD, NEW_PASSWORD, TOKEN_STRING } from "../../../lib/auth/auth-params";
import {
	hashingBusy,
	invalidLink,
	tooManyAttempts,
	unauthorized,
	wrongPassword
} from "../../../lib/auth/auth-errors";
import type { UserEventPayload } from "../../../lib/auth/auth-types";
import { authMixin } from "../auth-internals";
import type {
	AuthContext,
	AuthThis,
	ChangePasswordParams,
	ResetPasswordParams
} from "../auth-internals";
import { mailToAccount } from "./account-mail";

const PasswordsMixin = authMixin({
	actions: {
		/** Mails a password-reset link. Same answer for any address. */
		forgotPassword: mailToAccount("passwordReset mail", function (ctx, user) {
			return this.sendLink(ctx, user, "passwordReset");
		}),

		/**
		 * Spends a reset link's token and sets the password: account recovery. Every session of the
		 * user ends (refresh tokens revoked, access tokens rejected), their other reset links stop
		 * working, and their API keys are revoked unless `keepApiKeys` is true.
		 */
		resetPassword: {
			params: {
				$$strict: true,
				token: TOKEN_STRING,
				password: NEW_PASSWORD,
				confirmPassword: {
					type: "equal",
					field: "password",
					strict: true,
					messages: { equalField: "The 'confirmPassword' field must match 'password'." }
				},
				keepApiKeys: { type: "boolean", optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<ResetPasswordParams>): Promise<{ ok: true }> {
				const user = await this.consumeLinkToken(
					ctx,
					TOKEN_TYPES.passwordReset,
					ctx.params.token
				);
				await this.setPassword(ctx, user, ctx.params.password, "reset");
				await this.removeNewFactors(ctx, user);
				if (ctx.params.keepApiKeys !== true) {
					await ctx.call("tokens.removeByOwner", {
						owner: user._id,
						type: TOKEN_TYPES.apiKey
					});
				}
				// The link proved the address, and the password is the prover's own.
				await this.proveAddress(ctx, user, true);
				// Whoever was locked out by failed sign-ins has just proved who they are.
				await this.limiters.signIn.reset(this.accountLimitKey(user));
				return { ok: true };
			}
		},

		/** Changes the signed-in user's password; every session ends, so they sign in again. */
		changePassword: {
			params: {
				$$strict: true,
				currentPassword: GIVEN_PASSWORD,
				newPassword: NEW_PASSWORD
			},
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<ChangePasswordParams>): Promise<{ ok: true }> {
				this.requireSession(ctx, "Changing the password");
				const user = await this.requireCallerRecord(ctx);
				const key = this.accountLimitKey(user);
				const attempt = await this.limiters.signIn.hit(key);
				if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterMs);
				if (!(await this.passwordMatches(ctx.params.currentPassword, user.passwordHash))) {
					throw wrongPassword("currentPassword", 403, "The current password is wrong.");
				}
				await this.limiters.signIn.reset(key);
				await this.setPassword(ctx, user, ctx.params.newPassword, "change");
				return { ok: true };
			}
		}
	},
	methods: {
		/** A password against a stored hash (the dummy hash for none), one of a bounded few at once. */
		async passwordMatches(this: AuthThis, password: string, hash: string | null) {
			try {
				const valid = await this.hashGate.run(() =>
					verifyPassword(password, hash ?? this.dummyHash)
				);
				return valid && hash !== null;
			} catch (err) {
				if (err instanceof HashGateFullError) throw hashingBusy(err.retryAfterSeconds);
				throw err;
			}
		},

		async newPasswordHash(this: AuthThis, password: string): Promise<string> {
			try {
				return await this.hashGate.run(() =>
					hashPassword(password, this.settings.password)
				);
			} catch (err) {
				if (err instanceof HashGateFullError) throw hashingBusy(err.retryAfterSeconds);
				throw err;
			}
		},

		/** New hash; every session ends (refresh tokens, access tokens, pending reset links). */
		async setPassword(
			this: AuthThis,
			ctx: Context,
			user: UserRecord,
			password: string,
			reason: "reset" | "change"
		): Promise<void> {
			const passwordHash = await this.newPasswordHash(password);
			const now = Date.now();
			const updated = await this.store.update(
				user._id,
				{ passwordHash, tokensValidAfter: nextTokensCutoff(user.tokensValidAfter, now) },
				now
			);
			if (!updated) throw reason === "reset" ? invalidLink() : unauthorized();
			await this.revokeAllSessions(ctx, user._id, `password-${reason}`);
			// Pending reset links, and remembered devices: a new password is a new start.
			for (const type of [TOKEN_TYPES.passwordReset, TOKEN_TYPES.device]) {
				await ctx.call("tokens.removeByOwner", { owner: user._id, type });
			}
			ctx.emit<UserEventPayload & { reason: string }>("auth.passwordChanged", {
				userId: user._id,
				reason
			});
		},

		/** After a sign-in, re-hashes a password stored with weaker parameters than today's. */
		upgradeHashLater(this: AuthThis, user: UserRecord, password: string): void {
			const current = user.passwordHash;
			if (current === null || !needsRehash(current, this.settings.password)) return;
			this.later("password re-hash", async () => {
				const next = await this.newPasswordHash(password);
				await this.store.replacePasswordHash(user._id, {
					expected: current,
					next,
					now: Date.now()
				});
			});
		}
	}
});

export default PasswordsMixin;
