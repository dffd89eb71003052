/**
 * The service API, for teams that keep their own users (seed 002's profile service calls
 * `gen-tokens` at login, `validate-token` on each request and `invalidate-tokens` at logout):
 * access and refresh pairs for a subject this service keeps no password for, with the same
 * rotation and reuse detection as users' sessions (auth.refresh takes them). `public`: for trusted
 * services over the broker, never on the gateway. See docs/sessions.md, "Service API".
 */
import { TOKEN_TYPES } from "../../../lib/tokens/token-types";
import { invalidToken } from "../../../lib/auth/auth-errors";
import { TOKEN_STRING } from "../../../lib/auth/auth-params";
import { subjectHolder, subjectOf } from "../../../lib/auth/subjects";
import type { SessionTokens } from "../../../lib/auth/auth-types";
import { authMixin } from "../auth-internals";
import type {
	AuthContext,
	IssueTokensParams,
	SubjectParams,
	ValidateTokenParams
} from "../auth-internals";

/** Any printable name without control characters; namespaced, so it cannot collide with a user. */
const SUBJECT = {
	type: "string",
	min: 1,
	max: 128,
	// eslint-disable-next-line no-control-regex -- naming the control characters it refuses
	pattern: /^[^\u0000-\u001f\u007f]+$/,
	messages: { stringPattern: "The 'subject' field may not contain control characters." }
} as const;

/** RFC 6749 §3.3 scope tokens: they travel space-separated in the access token's `scope`. */
const SCOPE_TOKENS = {
	type: "array",
	optional: true,
	max: 32,
	items: {
		type: "string",
		min: 1,
		max: 64,
		pattern: /^[!#-[\]-~]+$/,
		messages: {
			stringPattern: "A scope is printable ASCII without spaces, quotes or backslashes."
		}
	}
} as const;

export interface ValidatedToken {
	subject: string;
	scopes: string[];
	/** The session the token was issued in (for invalidation and logs). */
	sessionId: string;
	/** ISO 8601. */
	expiresAt: string;
}

const ServiceTokensMixin = authMixin({
	actions: {
		/** A new session for `subject`: an access token carrying `scopes`, and a refresh token. */
		issueTokens: {
			visibility: "public",
			params: { $$strict: true, subject: SUBJECT, scopes: SCOPE_TOKENS },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<IssueTokensParams>): Promise<SessionTokens> {
				const holder = subjectHolder(ctx.params.subject);
				const scopes = [...new Set(ctx.params.scopes ?? [])];
				const { family, refreshToken } = await this.openFamily(ctx, holder, scopes);
				return this.sessionTokens(
					{ _id: holder, tokensValidAfter: 0, grantedScopes: scopes },
					refreshToken,
					family
				);
			}
		},

		/**
		 * The subject, scopes and expiry of a live access token issued by issueTokens (or refresh of
		 * one); with `subject`, only if it is that subject's. Anything else: 401, as for any bad token.
		 */
		validateToken: {
			visibility: "public",
			params: {
				$$strict: true,
				token: TOKEN_STRING,
				subject: { ...SUBJECT, optional: true }
			},
			async handler(ctx: AuthContext<ValidateTokenParams>): Promise<ValidatedToken> {
				const claims = await this.accessTokens.verify(ctx.params.token);
				const subject = claims && subjectOf(claims.sub);
				if (!claims || subject === null || claims.sid === undefined) throw invalidToken();
				if (ctx.params.subject !== undefined && ctx.params.subject !== subject) {
					throw invalidToken();
				}
				const session = await this.families.findById(claims.sid);
				if (!session || session.revokedAt !== null || session.userId !== claims.sub) {
					throw invalidToken();
				}
				return {
					subject,
					scopes: claims.scope ? claims.scope.split(" ") : [],
					sessionId: claims.sid,
					expiresAt: new Date(claims.exp * 1000).toISOString()
				};
			}
		},

		/** Ends every session of the subject: its refresh tokens die, its access tokens are refused. */
		invalidateTokens: {
			visibility: "public",
			params: { $$strict: true, subject: SUBJECT },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<SubjectParams>): Promise<{ ok: true; revoked: number }> {
				const holder = subjectHolder(ctx.params.subject);
				const revoked = await this.families.revokeAllOfUser(
					holder,
					"invalidated",
					Date.now()
				);
				await ctx.call("tokens.removeByOwner", {
					owner: holder,
					type: TOKEN_TYPES.refresh
				});
				return { ok: true, revoked };
			}
		}
	}
});

export default ServiceTokensMixin;
