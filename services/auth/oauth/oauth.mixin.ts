/**
 * The standard endpoints resource servers expect: token introspection (RFC 7662) for trusted
 * callers, and revocation (RFC 7009) for whoever holds a token. Served by the gateway at
 * POST /oauth2/introspect and POST /oauth2/revoke (form-encoded). See docs/oauth-and-jwks.md.
 */
import { TOKEN_TYPES, type TokenEntity } from "../../../lib/tokens/token-types";
import { MAX_TOKEN_LENGTH, TOKEN_STRING } from "../../../lib/auth/auth-params";
import { fingerprintOf } from "../../../lib/auth/store/refresh-family-store";
import { subjectOf } from "../../../lib/auth/subjects";
import type { Introspection } from "../../../lib/auth/auth-types";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthThis } from "../auth-internals";
import { isDisabled } from "../api-keys/api-key-settings.mixin";

/** RFC 7662 §2.2. `token_type` names which of ours it is, in RFC 7009's hint vocabulary. */
interface IntrospectParams {
	token: string;
	token_type_hint?: string;
}

const HINT = {
	type: "enum",
	values: ["access_token", "refresh_token", "api_key"],
	optional: true
} as const;

const INACTIVE: Introspection = { active: false };

/**
 * Introspection's lookups count their misses against this node's budget, not the client address's:
 * the caller is a trusted resource server (ADMIN_TOKEN or an `introspect` key) asking about tokens
 * its own clients sent, and 30 inactive ones must not lock it out.
 */
const AS_RESOURCE_SERVER = { meta: { ip: undefined } };
const seconds = (iso: string | null) =>
	iso === null ? undefined : Math.floor(Date.parse(iso) / 1000);

/** Which of our token kinds a string can be, by its shape (JWT, or a prefix). */
function kindOf(token: string): Introspection["token_type"] | null {
	if (token.startsWith("eyJ") && token.split(".").length === 3) return "access_token";
	if (token.startsWith("mtf_")) return "refresh_token";
	if (token.startsWith("mtk_")) return "api_key";
	return null;
}

const OAuthMixin = authMixin({
	actions: {
		/** RFC 7662: what a live token is; `{ active: false }`, and nothing else, for any other. */
		introspect: {
			params: { $$strict: true, token: TOKEN_STRING, token_type_hint: HINT },
			async handler(ctx: AuthContext<IntrospectParams>): Promise<Introspection> {
				const { token } = ctx.params;
				switch (kindOf(token)) {
					case "access_token":
						return this.introspectAccessToken(token);
					case "refresh_token":
						return this.introspectRefreshToken(ctx, token);
					case "api_key":
						return this.introspectApiKey(ctx, token);
					default:
						return INACTIVE;
				}
			}
		},

		/**
		 * RFC 7009: ends what the token grants (an access token's session, a refresh token's family,
		 * an API key). The same answer whatever the token was: holding it is the proof.
		 */
		revoke: {
			params: { $$strict: true, token: TOKEN_STRING, token_type_hint: HINT },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<IntrospectParams>): Promise<{ ok: true }> {
				const { token } = ctx.params;
				const kind = kindOf(token);
				if (kind === "access_token") {
					const claims = await this.accessTokens.verify(token);
					const family = claims?.sid ? await this.families.findById(claims.sid) : null;
					if (family && family.userId === claims!.sub) {
						await this.revokeFamily(ctx, family, "revoked");
					}
				} else if (kind === "refresh_token" && token.length <= MAX_TOKEN_LENGTH) {
					const family = await this.families.findByFingerprint(fingerprintOf(token));
					if (family) await this.revokeFamily(ctx, family, "revoked");
				} else if (kind === "api_key" && token.length <= MAX_TOKEN_LENGTH) {
					await ctx.call("tokens.remove", { type: TOKEN_TYPES.apiKey, token });
				}
				return { ok: true };
			}
		}
	},

	methods: {
		async introspectAccessToken(this: AuthThis, token: string): Promise<Introspection> {
			const claims = await this.accessTokens.verify(token);
			if (!claims || claims.sid === undefined) return INACTIVE;
			const session = await this.families.findById(claims.sid);
			if (!session || session.revokedAt !== null || session.userId !== claims.sub) {
				return INACTIVE;
			}
			let scope = claims.scope ?? "";
			if (subjectOf(claims.sub) === null) {
				const user = await this.store.findById(claims.sub);
				if (!user || claims.iat * 1000 < user.tokensValidAfter) return INACTIVE;
				scope = user.scopes.join(" ");
			}
			return {
				active: true,
				// A user's id, or a service-API subject in its namespace (`subject:<name>`): a subject
				// named like a user's id is never taken for that user.
				sub: claims.sub,
				scope,
				exp: claims.exp,
				iat: claims.iat,
				token_type: "access_token"
			};
		},

		async introspectRefreshToken(
			this: AuthThis,
			ctx: AuthContext,
			token: string
		): Promise<Introspection> {
			if (token.length > MAX_TOKEN_LENGTH) return INACTIVE;
			const fingerprint = fingerprintOf(token);
			const family = await this.families.findByFingerprint(fingerprint);
			if (!family || family.revokedAt !== null || family.current !== fingerprint)
				return INACTIVE;
			const entity = await ctx.call<TokenEntity | null, object>(
				"tokens.check",
				{ type: TOKEN_TYPES.refresh, token },
				AS_RESOURCE_SERVER
			);
			if (!entity) return INACTIVE;
			const holder = await this.holderOf(family);
			if (!holder) return INACTIVE;
			const scopes = "grantedScopes" in holder ? holder.grantedScopes : holder.scopes;
			return {
				active: true,
				sub: family.userId,
				scope: scopes.join(" "),
				exp: seconds(entity.expiresAt),
				iat: seconds(entity.createdAt),
				token_type: "refresh_token"
			};
		},

		async introspectApiKey(
			this: AuthThis,
			ctx: AuthContext,
			token: string
		): Promise<Introspection> {
			if (token.length > MAX_TOKEN_LENGTH) return INACTIVE;
			const entity = await ctx.call<TokenEntity | null, object>(
				"tokens.check",
				{ type: TOKEN_TYPES.apiKey, token },
				AS_RESOURCE_SERVER
			);
			const user = entity && (await this.store.findById(entity.owner));
			if (!entity || !user || isDisabled(entity)) return INACTIVE;
			const answer: Introspection = {
				active: true,
				sub: user._id,
				scope: entity.scopes.filter(s => user.scopes.includes(s)).join(" "),
				iat: seconds(entity.createdAt),
				token_type: "api_key",
				client_id: entity.id
			};
			const exp = seconds(entity.expiresAt);
			return exp === undefined ? answer : { ...answer, exp };
		}
	}
});

export default OAuthMixin;
