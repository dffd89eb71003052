/**
 * Who may administer users, and the record of what they do (docs/administration.md):
 * - ADMIN_TOKEN (checked by the gateway; actor `admin-token`) and API keys whose scopes include
 *   `admin` (automation; actor: the key's owner);
 * - an account with the `admin` role, from its own session (Bearer access token), only with a
 *   second factor enrolled (403 SECOND_FACTOR_REQUIRED), and for the dangerous actions (lock,
 *   delete, role change) from a session started within AUTH_RECENT_SIGN_IN
 *   (403 RECENT_SIGN_IN_REQUIRED);
 * - a call from inside the cluster with no caller (the REPL, a trusted service; actor `system`).
 *
 * Every admin action is written to the audit trail before it is made: when the trail cannot take
 * it, nothing is changed (503 AUDIT_UNAVAILABLE).
 */
import {
	auditUnavailable,
	forbidden,
	invalidToken,
	noSuchUser,
	secondFactorRequired
} from "../../../lib/auth/auth-errors";
import { TOKEN_STRING } from "../../../lib/auth/auth-params";
import type { ResolvedUser } from "../../../lib/auth/auth-types";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import { describeCause } from "../../../lib/store/store-errors";
import { authMixin } from "../auth-internals";
import type { AdminActor, AuthContext, AuthThis, TokenParams } from "../auth-internals";

const AdminAccessMixin = authMixin({
	actions: {
		/**
		 * The gateway's admin routes, for a Bearer access token: who it belongs to, if that is an
		 * administrator with a second factor (else 403); the same answer as resolveAccessToken.
		 */
		resolveAdminSession: {
			visibility: "public",
			params: { $$strict: true, token: TOKEN_STRING },
			async handler(ctx: AuthContext<TokenParams>): Promise<ResolvedUser> {
				const resolved = await ctx.call<ResolvedUser, TokenParams>(
					"auth.resolveAccessToken",
					{ token: ctx.params.token }
				);
				if (!resolved.user.scopes.includes("admin")) throw forbidden();
				const user = await this.store.findById(resolved.user.id);
				if (!user) throw invalidToken();
				if (!(await this.hasSecondFactor(user))) throw secondFactorRequired();
				return resolved;
			}
		}
	},

	methods: {
		/**
		 * The administrator behind `ctx` (see the file header); `dangerous`: a session must also
		 * be recent.
		 */
		async requireAdmin(
			this: AuthThis,
			ctx: AuthContext,
			dangerous: boolean
		): Promise<AdminActor> {
			const caller = ctx.meta.user;
			if (!caller) return { id: "system", userId: null };
			if (caller.via === "admin-token") return { id: "admin-token", userId: null };
			if (!caller.scopes.includes("admin")) throw forbidden();
			if (caller.via === "jwt") {
				const user = await this.requireCallerRecord(ctx);
				if (!user.scopes.includes("admin")) throw forbidden();
				if (!(await this.hasSecondFactor(user))) throw secondFactorRequired();
				if (dangerous) await this.requireRecentSignIn(ctx, caller, user);
			}
			return { id: caller.id, userId: caller.id };
		},

		async hasSecondFactor(this: AuthThis, user: UserRecord): Promise<boolean> {
			if (user.totpEnabledAt != null) return true;
			return (await this.passkeys.listOfUser(user._id)).length > 0;
		},

		/**
		 * The administrator behind `ctx` (requireAdmin) and the account the action names (404 when
		 * there is none).
		 */
		async adminAndTarget(
			ctx: AuthContext<{ id: string }>,
			dangerous: boolean
		): Promise<{ actor: AdminActor; user: UserRecord }> {
			const actor = await this.requireAdmin(ctx, dangerous);
			const user = await this.store.findById(ctx.params.id);
			if (!user) throw noSuchUser();
			return { actor, user };
		},

		/**
		 * Writes `admin.<action>` to the audit trail and waits until it is stored; no audit
		 * service, or a failed write, and the action is not made (503 AUDIT_UNAVAILABLE).
		 */
		async recordAdminAction(
			this: AuthThis,
			ctx: AuthContext,
			actor: AdminActor,
			action: string,
			subject: string | null,
			data: Record<string, string | number | boolean | null> = {}
		): Promise<void> {
			try {
				await ctx.call("audit.recordAdminAction", {
					type: `admin.${action}`,
					actor: actor.id,
					subject,
					data
				});
			} catch (err) {
				this.logger.warn(`Could not record admin.${action}: ${describeCause(err)}`);
				throw auditUnavailable();
			}
		}
	}
});

export default AdminAccessMixin;
