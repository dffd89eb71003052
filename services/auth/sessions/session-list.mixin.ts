/**
 * Who an access token belongs to (auth.resolveAccessToken, the gateway's JWT path, from memory: see
 * caller-cache.mixin), and the sessions a user can see and end: one per refresh-token family, with
 * when it started and was last used, and the User-Agent and network (a /24 or /48, never the address) of its latest sign-in
 * or refresh. Ending one revokes its refresh token, and its access tokens are refused from then on
 * (their `sid` claim names it). Only ever the caller's own sessions.
 */
import { invalidToken, noSuchSession } from "../../../lib/auth/auth-errors";
import { PAGE_LIMIT, TOKEN_STRING } from "../../../lib/auth/auth-params";
import { isoDate } from "../../../lib/common/iso-date";
import type { ResolvedUser, UserEventPayload } from "../../../lib/auth/auth-types";
import { authMixin } from "../auth-internals";
import type { AuthContext, IdParams, TokenParams } from "../auth-internals";

export interface SessionInfo {
	id: string;
	createdAt: string;
	lastUsedAt: string;
	userAgent: string | null;
	clientAddress: string | null;
	/** The session of the access token that asked. */
	current: boolean;
}

const SessionListMixin = authMixin({
	actions: {
		/** Who an access token (JWT) belongs to, for the gateway (the validate-token of a sibling service). */
		resolveAccessToken: {
			params: { $$strict: true, token: TOKEN_STRING },
			async handler(ctx: AuthContext<TokenParams>): Promise<ResolvedUser> {
				const claims = await this.accessTokens.verify(ctx.params.token);
				if (!claims) throw invalidToken();
				const user = await this.cachedUser(claims.sub);
				if (!user || claims.iat * 1000 < user.tokensValidAfter) throw invalidToken();
				this.refuseLocked(user);
				// Ended sessions (sign-out, revoked from the sessions list, reuse) take their access
				// tokens with them.
				if (claims.sid !== undefined) {
					const session = await this.cachedSession(claims.sid);
					if (!session || session.revokedAt !== null || session.userId !== user._id) {
						throw invalidToken();
					}
				}
				return {
					user: this.toAuthUser(user, user.scopes, "jwt", claims.sid),
					profile: this.toPublicUser(user)
				};
			}
		},

		/**
		 * The signed-in user's live sessions, oldest first, `limit` at a time (at most 100), after
		 * the session `after` (the last id of the previous page). Needs a session, not an API key.
		 */
		listSessions: {
			params: {
				$$strict: true,
				limit: PAGE_LIMIT,
				after: { type: "string", min: 1, max: 64, optional: true }
			},
			async handler(
				ctx: AuthContext<{ limit?: number; after?: string }>
			): Promise<SessionInfo[]> {
				const caller = this.requireSession(ctx, "Listing sessions");
				const live = await this.families.listLiveOfUser(caller.id, Date.now());
				const start = ctx.params.after
					? live.findIndex(f => f._id === ctx.params.after) + 1
					: 0;
				const families = live.slice(start, start + (ctx.params.limit ?? 100));
				return families.map(f => ({
					id: f._id,
					createdAt: isoDate(f.createdAt),
					lastUsedAt: isoDate(f.rotatedAt ?? f.createdAt),
					userAgent: f.userAgent ?? null,
					clientAddress: f.clientAddress ?? null,
					current: f._id === caller.session
				}));
			}
		},

		/** Ends one of the signed-in user's sessions; 404 for any other id. */
		revokeSession: {
			params: { $$strict: true, id: { type: "string", min: 1, max: 64 } },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<IdParams>): Promise<{ ok: true }> {
				const caller = this.requireSession(ctx, "Ending sessions");
				const family = await this.families.findById(ctx.params.id);
				if (!family || family.userId !== caller.id || family.revokedAt !== null) {
					throw noSuchSession();
				}
				await this.revokeFamily(ctx, family, "revoked");
				ctx.emit<UserEventPayload & { session: string }>("auth.sessionRevoked", {
					userId: caller.id,
					session: family._id
				});
				return { ok: true };
			}
		}
	}
});

export default SessionListMixin;
