/**
 * For sibling services: verify `auth`'s access tokens locally, against its JWKS, without a call to
 * `auth` per request. The JWKS comes from the `auth.jwks` action (or a URL, e.g. the gateway's
 * /.well-known/jwks.json), is cached, and is fetched again when a token names a key it does not
 * hold (a rotation), at most once per `refetchInterval`.
 *
 * An action with `auth: "required"` (or `"optional"`) gets the caller of the Bearer token in
 * `ctx.meta.authorization` as `ctx.meta.user = { id, scopes, session, via: "jwt" }`; a missing,
 * invalid or expired token is a 401. Works with EdDSA and ES256 tokens (JWT_ALGORITHM), not HS256,
 * whose key is a secret only `auth` holds. What it cannot see: a session ended or a user deleted
 * within the token's lifetime (15 minutes); ask `auth.resolveAccessToken` where that matters.
 */
import { Errors, type Context } from "moleculer";
import { typedMixin } from "../lib/broker/typed-mixin";
import {
	createLocalJWKSet,
	createRemoteJWKSet,
	jwtVerify,
	errors as joseErrors,
	type JSONWebKeySet
} from "jose";

export interface JwtVerifierSettings {
	/** The action that answers the JWKS (default auth.jwks); ignored when `jwksUrl` is set. */
	jwksAction: string;
	jwksUrl: string | null;
	issuer: string;
	audience: string;
	/** Seconds between fetches when a token names an unknown key. */
	refetchInterval: number;
}

export interface VerifiedCaller {
	id: string;
	scopes: string[];
	session: string | null;
	via: "jwt";
}

type KeySet = ReturnType<typeof createLocalJWKSet>;

interface VerifierMethods {
	loadKeySet(force: boolean): Promise<KeySet>;
	verifyAccessToken(token: string): Promise<VerifiedCaller>;
}

interface VerifierState {
	keySet: KeySet | null;
	keySetFetchedAt: number;
}

function unauthorized(): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError("Unauthorized", 401, "INVALID_TOKEN");
}

const BEARER = /^Bearer[ \t]+(\S{1,4096})[ \t]*$/i;

const JwtVerifierMixin = typedMixin<
	{ jwtVerifier: JwtVerifierSettings },
	VerifierMethods,
	VerifierState
>({
	settings: {
		jwtVerifier: {
			jwksAction: "auth.jwks",
			jwksUrl: process.env.JWKS_URL || null,
			issuer: process.env.JWT_ISSUER || "moleculer-tokens",
			audience: process.env.JWT_AUDIENCE || "moleculer-tokens",
			refetchInterval: 5
		}
	},

	hooks: {
		before: {
			async "*"(ctx: Context<unknown, Record<string, unknown>>) {
				const mode = (ctx.action as { auth?: string } | undefined)?.auth;
				if (mode !== "required" && mode !== "optional") return;
				const header = ctx.meta.authorization;
				const match = typeof header === "string" ? BEARER.exec(header) : null;
				if (!match) {
					if (mode === "required") throw unauthorized();
					return;
				}
				ctx.meta.user = await this.verifyAccessToken(match[1]);
			}
		}
	},

	methods: {
		async verifyAccessToken(token: string): Promise<VerifiedCaller> {
			const options = {
				algorithms: ["EdDSA", "ES256"],
				typ: "at+jwt",
				issuer: this.settings.jwtVerifier.issuer,
				audience: this.settings.jwtVerifier.audience,
				requiredClaims: ["sub", "exp", "iat"]
			};
			let result;
			try {
				result = await jwtVerify(token, await this.loadKeySet(false), options);
			} catch (err) {
				if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw unauthorized();
				// A key this service has not fetched yet (a rotation): fetch, then try once more.
				try {
					result = await jwtVerify(token, await this.loadKeySet(true), options);
				} catch {
					throw unauthorized();
				}
			}
			const { sub, scope, sid } = result.payload;
			if (typeof sub !== "string") throw unauthorized();
			return {
				id: sub,
				scopes: typeof scope === "string" && scope !== "" ? scope.split(" ") : [],
				session: typeof sid === "string" ? sid : null,
				via: "jwt"
			};
		},

		/** The key set; fetched again when `force` and the last fetch is old enough. */
		async loadKeySet(force: boolean): Promise<KeySet> {
			const settings = this.settings.jwtVerifier;
			if (settings.jwksUrl) {
				// jose caches it, and fetches again on an unknown kid (with its own cooldown).
				this.keySet ??= createRemoteJWKSet(new URL(settings.jwksUrl)) as unknown as KeySet;
				return this.keySet;
			}
			const stale = Date.now() - this.keySetFetchedAt > settings.refetchInterval * 1000;
			if (!this.keySet || (force && stale)) {
				const jwks = await this.broker.call<JSONWebKeySet>(settings.jwksAction);
				this.keySet = createLocalJWKSet(jwks);
				this.keySetFetchedAt = Date.now();
			}
			return this.keySet;
		}
	},

	created() {
		this.keySet = null;
		this.keySetFetchedAt = 0;
	}
});

export default JwtVerifierMixin;
