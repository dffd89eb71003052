/**
 * The sessions a user can see and end: one per refresh-token family, with when it started and was
 * last used, and the User-Agent and network (a /24 or /48, never the address) of its latest sign-in
 * or refresh. Ending one revokes its refresh token, and its access tokens are refused from then on
 * (their `sid` claim names it). Only ever the caller's own sessions.
 */
import { type ServiceSchema } from "moleculer";
import { clientError } from "../../lib/auth/errors";
import { isoDate } from "../../lib/common/iso-date";
import type { UserEventPayload } from "../../lib/auth/types";
import type { AuthContext, AuthThis, IdParams } from "./internals";

export interface SessionInfo {
	id: string;
	createdAt: string;
	lastUsedAt: string;
	userAgent: string | null;
	clientAddress: string | null;
	/** The session of the access token that asked. */
	current: boolean;
}

const SessionListMixin = {
	actions: {
		/** The signed-in user's live sessions, oldest first. Needs a session, not an API key. */
		listSessions: {
			params: { $$strict: true },
			async handler(this: AuthThis, ctx: AuthContext): Promise<SessionInfo[]> {
				const caller = this.requireSession(ctx, "Listing sessions");
				const families = await this.families.listLiveOfUser(caller.id, Date.now());
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
			async handler(this: AuthThis, ctx: AuthContext<IdParams>): Promise<{ ok: true }> {
				const caller = this.requireSession(ctx, "Ending sessions");
				const family = await this.families.findById(ctx.params.id);
				if (!family || family.userId !== caller.id || family.revokedAt !== null) {
					throw clientError("No such session.", 404, "NOT_FOUND");
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
};

// Typed against AuthThis; as a mixin it joins the auth schema, whose `this` it cannot name.
export default SessionListMixin as unknown as Partial<ServiceSchema>;
