/**
 * Who is calling the gateway: a user's access token (JWT) or API key, resolved by `auth`, or
 * ADMIN_TOKEN on the admin routes. See docs/http-api.md, "Credentials".
 */
import { apiMixin } from "./gateway-internals";
import { createHash, timingSafeEqual } from "node:crypto";
import { Errors, type Context } from "moleculer";
import type { GatewayResponse, IncomingRequest } from "moleculer-web";
import type {
	ApiMeta,
	ApiThis,
	CallerIdentity,
	CallerLocals,
	Credential,
	ResolvedCaller
} from "./gateway-internals";
import { cookieOf, fromAllowedOrigin } from "../../lib/http/session-cookies";
import { crossSiteRefused } from "./cookie-sessions";

/** Credentials longer than this are refused without a call: no JWT or key of ours is near it. */
const MAX_CREDENTIAL_LENGTH = 4096;
/** Longest request URL (path and query) accepted; longer ones get 414 before any other work. */
export const MAX_URL_LENGTH = 4096;
const API_KEY_PREFIX = "mtk_";
/** Three base64url parts: what a JWT (compact JWS) looks like. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;
/** The pool an admin-route request names (`/api/pools/:pool/...`), if any. */
function poolOf(req: IncomingRequest): string | null {
	const pool = (req.$params as Record<string, unknown> | undefined)?.pool;
	return typeof pool === "string" ? pool : null;
}

/** Pool routes a key scoped to that one pool (`pools:<name>`) may use: what a pool client does. */
const POOL_CLIENT_ACTIONS = new Set(["pools.assign", "pools.keepAlive", "pools.unblock"]);

/** Methods that change nothing: a cookie may authenticate them from anywhere (CORS guards reads). */
const SAFE_METHODS = new Set(["GET", "HEAD"]);

function accessCookieOf(req: IncomingRequest, name: string): Credential | null {
	const value = cookieOf(req.headers.cookie, name);
	if (value === undefined) return null;
	if (value.length > MAX_CREDENTIAL_LENGTH) throw unauthorized("INVALID_TOKEN");
	return { kind: "jwt", value, header: "cookie" };
}

/** An API key's rate limit, as GitHub and Unkey report it (X-RateLimit-Reset: epoch seconds). */
export function setRateLimitHeaders(
	res: GatewayResponse,
	limit: { limit: number; remaining: number; reset: number }
): void {
	res.setHeader("X-RateLimit-Limit", String(limit.limit));
	res.setHeader("X-RateLimit-Remaining", String(limit.remaining));
	res.setHeader("X-RateLimit-Reset", String(limit.reset));
}

export function unauthorized(type = "UNAUTHORIZED"): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError("Unauthorized", 401, type);
}

const CredentialsMixin = apiMixin({
	methods: {
		/** The caller's credential: `X-API-Key`, or `Authorization: Bearer` (a JWT, or an API key). */
		credentialOf(this: ApiThis, req: IncomingRequest): Credential | null {
			const apiKey = req.headers["x-api-key"];
			if (typeof apiKey === "string" && apiKey) {
				if (apiKey.length > MAX_CREDENTIAL_LENGTH) throw unauthorized("INVALID_TOKEN");
				return { kind: "api-key", value: apiKey.trim(), header: "x-api-key" };
			}
			const header = req.headers.authorization;
			if (!header) return null;
			const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
			if (!match || match[1].length > MAX_CREDENTIAL_LENGTH) {
				throw unauthorized("INVALID_TOKEN");
			}
			const value = match[1];
			return {
				kind: value.startsWith(API_KEY_PREFIX) ? "api-key" : "jwt",
				value,
				header: "authorization"
			};
		},

		/**
		 * Who the credential belongs to, from `auth`. The answer also holds the user's profile,
		 * kept in `ctx.locals` (never sent on with calls): GET /api/me answers with it, so that
		 * route costs one call to `auth`, not two.
		 */
		async resolveUser(
			this: ApiThis,
			ctx: Context,
			credential: Credential,
			res?: GatewayResponse
		) {
			const { user, profile, rateLimit } =
				credential.kind === "api-key"
					? await ctx.call<ResolvedCaller, object>("auth.resolveApiKey", {
							key: credential.value
						})
					: await ctx.call<ResolvedCaller, object>("auth.resolveAccessToken", {
							token: credential.value
						});
			(ctx.locals as CallerLocals).profile = profile;
			if (rateLimit && res) setRateLimitHeaders(res, rateLimit);
			return user;
		},

		/**
		 * /api/me: a JWT or an API key, resolved by `auth`, or else the access cookie of a cookie
		 * session; no credential leaves the user unset.
		 */
		async authenticateUser(
			this: ApiThis,
			ctx: Context,
			_route: unknown,
			req: IncomingRequest,
			res: GatewayResponse
		) {
			const credential =
				this.credentialOf(req) ?? accessCookieOf(req, this.cookiePolicy.names.access);
			if (!credential) return null;
			if (
				credential.header === "cookie" &&
				!SAFE_METHODS.has(req.method ?? "") &&
				!fromAllowedOrigin(req.headers, this.cookiePolicy)
			) {
				throw crossSiteRefused();
			}
			return this.resolveUser(ctx, credential, res);
		},

		requireUser(this: ApiThis, ctx: Context<unknown, ApiMeta>) {
			if (!ctx.meta.user) throw unauthorized();
		},

		/**
		 * Admin routes: ADMIN_TOKEN (as `Authorization: Bearer` only), or an API key whose scopes
		 * include "admin"; a pool client's routes also take a key scoped to that pool. Keys are resolved
		 * by `auth` like everywhere else (tokens.check with isUsed, scopes intersected with the
		 * owner's current ones, so taking "admin" from a user takes it from their keys). ADMIN_TOKEN
		 * is checked here and keeps working while `auth` is down. A user's access token (Bearer, never
		 * the cookie) is one only for an account with the `admin` role and a second factor
		 * (auth.resolveAdminSession).
		 */
		async authenticateAdmin(
			this: ApiThis,
			ctx: Context,
			_route: unknown,
			req: IncomingRequest,
			res: GatewayResponse
		): Promise<CallerIdentity> {
			const credential = this.credentialOf(req);
			if (!credential) throw unauthorized();
			if (credential.header === "authorization" && this.isAdminToken(credential.value)) {
				return { id: "admin", username: "admin", scopes: ["admin"], via: "admin-token" };
			}
			if (credential.kind === "api-key") return this.resolveUser(ctx, credential, res);
			// Only a JWT's shape goes on to auth: a guessed ADMIN_TOKEN stays a plain 401.
			if (!JWT_SHAPE.test(credential.value)) throw unauthorized("INVALID_TOKEN");
			// An administrator's own session: auth checks the role and the second factor.
			const { user } = await ctx.call<ResolvedCaller, object>("auth.resolveAdminSession", {
				token: credential.value
			});
			return user;
		},

		/**
		 * "admin" may do everything here. A key with the scope `pools:<name>` may only lease, keep
		 * alive and unblock tokens of that pool: a pool client needs no credential that could mint
		 * tokens for any user.
		 */
		requireAdmin(
			this: ApiThis,
			ctx: Context<unknown, ApiMeta>,
			_route: unknown,
			req: IncomingRequest
		) {
			const user = ctx.meta.user;
			if (!user) throw unauthorized();
			if (user.scopes.includes("admin")) return;
			const pool = poolOf(req);
			const action = req.$alias?.action;
			if (
				pool !== null &&
				typeof action === "string" &&
				POOL_CLIENT_ACTIONS.has(action) &&
				user.scopes.includes(`pools:${pool}`)
			) {
				return;
			}
			throw new Errors.MoleculerClientError("Forbidden", 403, "FORBIDDEN");
		},

		/** RFC 7662 callers: "admin", or a key with the "introspect" scope (a resource server's). */
		requireIntrospector(this: ApiThis, ctx: Context<unknown, ApiMeta>) {
			const scopes = ctx.meta.user?.scopes ?? [];
			if (!ctx.meta.user) throw unauthorized();
			if (!scopes.includes("admin") && !scopes.includes("introspect")) {
				throw new Errors.MoleculerClientError("Forbidden", 403, "FORBIDDEN");
			}
		},

		isAdminToken(this: ApiThis, candidate: string): boolean {
			if (!this.adminTokenDigest) return false;
			// Digests have equal lengths, so timingSafeEqual never throws or leaks the length.
			const digest = createHash("sha256").update(candidate).digest();
			return timingSafeEqual(digest, this.adminTokenDigest);
		}
	}
});

export default CredentialsMixin;
