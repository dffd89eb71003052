/**
 * The `api` service: the REST gateway (moleculer-web) in front of `auth`, `tokens`, `links` and
 * `pools`, and the HTML pages behind the links in our mails.
 *
 * Routes (see lib/http/openapi.ts for the full description, served at GET /api/openapi.json):
 * - `/api/auth/...`      public auth flows, rate limited per client address;
 * - `/api/me/...`        a signed-in user: `Authorization: Bearer <JWT>`, `Bearer mtk_…` or `X-API-Key`;
 * - `/api/tokens`, `/api/pools/...`  administration: ADMIN_TOKEN as Bearer, or an API key with the
 *                        "admin" scope; never open to the public;
 * - `/verify-email`, `/magic-link`, `/reset-password`, `/token/:token`  pages: GET shows a button,
 *                        only the POST spends the single-use token (mail scanners fetch links);
 * - `/health` (process up), `/ready` (tokens and auth reachable).
 *
 * Logs never carry a token: request URLs are masked (lib/http/url-masking) and parameters, bodies and
 * credentials are never logged. Errors reach clients as small JSON bodies (lib/http/public-error).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import { Errors, type Context, type Service, type ServiceSchema } from "moleculer";
import ApiGateway, {
	type ApiRouteSchema,
	type ApiSettingsSchema,
	type GatewayResponse,
	type IncomingRequest
} from "moleculer-web";
import {
	clientAddress,
	parseTrustProxy,
	clientKey,
	type TrustProxy
} from "../lib/http/client-address";
import { durationFromEnv } from "../lib/config/durations";
import { wholeNumberFromEnv } from "../lib/config/env";
import { buildOpenApiDocument } from "../lib/http/openapi";
import { PAGE_HEADERS, pages, renderPage, type Page, type SessionTokens } from "../lib/http/pages";
import { toPublicError } from "../lib/http/public-error";
import { isProduction, listFromEnv, MIN_SECRET_LENGTH } from "../lib/config/secrets";
import { logLevelEnabled } from "../lib/broker/log-level";
import { maskUrl } from "../lib/http/url-masking";

/** Who is calling, as CONTRACTS.md defines it (plus "admin-token" for ADMIN_TOKEN on admin routes). */
export interface CallerIdentity {
	id: string;
	username: string;
	scopes: string[];
	via: "jwt" | "api-key" | "admin-token";
}

/** auth.resolveApiKey's and auth.resolveAccessToken's answer (auth.service's ResolvedUser). */
interface ResolvedCaller {
	user: CallerIdentity;
	profile: Record<string, unknown>;
}

/** What the gateway keeps about the caller in `ctx.locals` for the rest of the request. */
interface CallerLocals {
	profile?: Record<string, unknown>;
}

export interface ApiMeta {
	user?: CallerIdentity | null;
	/** The client's address (lib/http/client-address), for per-address limits in `auth`. */
	ip?: string;
	$statusCode?: number;
	$location?: string;
}

export interface ApiServiceSettings extends ApiSettingsSchema {
	/** Base URL of the links in mails and of the OpenAPI `servers` entry. */
	publicUrl: string;
	/** Admin credential for the token administration routes; null: only admin API keys. */
	adminToken: string | null;
	/** Proxies in front of the gateway (lib/http/client-address): "", a hop count, or addresses/CIDRs. */
	trustProxy: string;
	/** Origins allowed to call /api from a browser; empty: none (same origin only); "*": any. */
	corsOrigins: string[];
	/** Largest JSON body accepted on /api (body-parser syntax: bytes or "16kb"). */
	bodyLimit: string;
	/** Requests per client address per window (seconds). */
	rateLimit: { window: number; public: number; user: number; admin: number };
	/** Services that must be reachable for GET /ready to answer 200. */
	readyServices: string[];
	/** Milliseconds to wait for a remote node's pong in GET /ready. */
	readyTimeout: number;
}

interface ApiMethods {
	authenticateUser(
		ctx: Context,
		route: unknown,
		req: IncomingRequest
	): Promise<CallerIdentity | null>;
	requireUser(ctx: Context<unknown, ApiMeta>): void;
	authenticateAdmin(ctx: Context, route: unknown, req: IncomingRequest): Promise<CallerIdentity>;
	requireAdmin(ctx: Context<unknown, ApiMeta>, route: unknown, req: IncomingRequest): void;
	credentialOf(req: IncomingRequest): Credential | null;
	resolveUser(ctx: Context, credential: Credential): Promise<CallerIdentity>;
	isAdminToken(candidate: string): boolean;
	readiness(): Promise<{ ready: boolean; services: Record<string, boolean> }>;
	servePage(
		req: IncomingRequest,
		res: GatewayResponse,
		next: (err?: unknown) => void,
		render: (ctx: Context, params: Record<string, unknown>) => Promise<Page>
	): void;
	tokenIsAlive(ctx: Context, type: string, token: string): Promise<boolean>;
	sendPage(req: IncomingRequest, res: GatewayResponse, page: Page): void;
	sendJson(req: IncomingRequest, res: GatewayResponse, status: number, body: unknown): void;
	// moleculer-web's own methods, replaced below.
	logRequest(req: IncomingRequest): void;
	logResponse(req: IncomingRequest, res: GatewayResponse): void;
	errorHandler(req: IncomingRequest, res: GatewayResponse, err: unknown): void;
	sendError(req: IncomingRequest, res: GatewayResponse, err: unknown): void;
}

interface ApiLocalVars {
	/** Whether settings.logRequest / logResponse print at this logger's level (lib/broker/log-level). */
	logsRequests: boolean;
	logsResponses: boolean;
	server: Server;
	adminTokenDigest: Buffer | null;
	trust: TrustProxy;
}

type ApiThis = Service<ApiServiceSettings> & ApiMethods & ApiLocalVars;

/** A credential and where it came from: ADMIN_TOKEN is accepted only as `Authorization: Bearer`. */
type Credential = { kind: "jwt" | "api-key"; value: string; header: "authorization" | "x-api-key" };

/** Credentials longer than this are refused without a call: no JWT or key of ours is near it. */
const MAX_CREDENTIAL_LENGTH = 4096;
/** Longest request URL (path and query) accepted; longer ones get 414 before any other work. */
const MAX_URL_LENGTH = 4096;
const API_KEY_PREFIX = "mtk_";
/** The one-time token types behind the three mail pages (tokens.service settings.types). */
const PAGE_TOKEN_TYPES = {
	verifyEmail: "verification",
	magicLink: "passwordless",
	resetPassword: "password-reset"
} as const;

const { ServiceUnavailableError } = ApiGateway.Errors;

type PageRender = (this: ApiThis, ctx: Context, params: Record<string, unknown>) => Promise<Page>;

/** A moleculer-web alias function that answers with the page `render` builds. */
function pageAlias(render: PageRender) {
	return function (
		this: ApiThis,
		req: IncomingRequest,
		res: GatewayResponse,
		next?: (err?: unknown) => void
	) {
		this.servePage(req, res, next!, render.bind(this));
	};
}

/** The page for a failed page request. */
function pageForError(status: number, type: string, aliasPath: string): Page {
	if (status === 429) return pages.tooManyRequests();
	if (status === 423) return pages.locked();
	if (status === 503 || status === 504) return pages.unavailable();
	if (status >= 500) return pages.failed();
	// A malformed token fails validation (422): to the reader it is just as invalid.
	if (type === "INVALID_OR_EXPIRED_TOKEN" || [400, 404, 422].includes(status)) {
		return pages.invalidLink(aliasPath.startsWith("/token") ? 404 : 400);
	}
	return pages.notCompleted(status);
}

/** POST /token and /token/:token: spends an action link and runs its action. */
async function redeemLink(ctx: Context, params: Record<string, unknown>): Promise<Page> {
	const token = tokenParam(params);
	// No token at all is a malformed request, not an unknown link.
	if (!token) return pages.invalidLink(400);
	const done = await ctx.call<{ action: string }, object>("links.redeem", { token });
	return pages.actionDone(done.action);
}

/** The HTTP request of moleculer-web's `rest` action, and its URL with the tokens masked. */
function requestOf(ctx: Context): IncomingRequest {
	return (ctx.params as { req: IncomingRequest }).req;
}
function maskedUrlOf(ctx: Context): string {
	const req = requestOf(ctx);
	return maskUrl(req.originalUrl ?? req.url ?? "");
}

/** Keys that would reach an object's prototype when the body is merged into the parameters. */
const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"];

/** The dotted path of the first prototype key in a parsed body, or null. */
function prototypeKeyIn(value: unknown, path = "", depth = 0): string | null {
	if (value === null || typeof value !== "object" || depth > 32) return null;
	for (const key of Object.keys(value)) {
		const here = path ? `${path}.${key}` : key;
		if (PROTOTYPE_KEYS.includes(key)) return here;
		const inner = prototypeKeyIn((value as Record<string, unknown>)[key], here, depth + 1);
		if (inner !== null) return inner;
	}
	return null;
}

/**
 * Route middleware, after the body parser: JSON.parse keeps `"__proto__"` as a plain key, and
 * merging the body into the parameters would then set their prototype and slip its contents past
 * the unknown-field check.
 */
function refusePrototypeKeys(
	req: IncomingRequest,
	_res: GatewayResponse,
	next: (err?: unknown) => void
) {
	const field = prototypeKeyIn((req as unknown as { body?: unknown }).body);
	if (field === null) return next();
	next(
		new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
			{ type: "objectStrict", field, message: `The '${field}' field is not allowed.` }
		] as never)
	);
}

/** The pool an admin-route request names (`/api/pools/:pool/...`), if any. */
function poolOf(req: IncomingRequest): string | null {
	const pool = (req.$params as Record<string, unknown> | undefined)?.pool;
	return typeof pool === "string" ? pool : null;
}

/** Pool routes a key scoped to that one pool (`pools:<name>`) may use: what a pool client does. */
const POOL_CLIENT_ACTIONS = new Set(["pools.assign", "pools.keepAlive", "pools.unblock"]);

function unauthorized(type = "UNAUTHORIZED"): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError("Unauthorized", 401, type);
}

function tokenParam(params: Record<string, unknown>): string | null {
	const token = params.token;
	return typeof token === "string" && token.length > 0 && token.length <= 512 ? token : null;
}

function stringParam(params: Record<string, unknown>, name: string): string | undefined {
	const value = params[name];
	return typeof value === "string" ? value : undefined;
}

function health(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
	this.sendJson(req, res, 200, { status: "ok" });
}

function ready(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
	this.readiness().then(
		r => this.sendJson(req, res, r.ready ? 200 : 503, r),
		() => this.sendJson(req, res, 503, { ready: false, services: {} })
	);
}

/** moleculer-web route options for a settings object: built once settings are merged. */
function buildRoutes(s: ApiServiceSettings): ApiRouteSchema[] {
	const trust = parseTrustProxy(s.trustProxy);
	const limited = (limit: number) => ({
		window: s.rateLimit.window * 1000,
		limit,
		headers: true,
		// The default key is the raw X-Forwarded-For header, which any client can forge.
		key: (req: IncomingRequest) =>
			clientKey(
				clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], trust)
			)
	});
	const cors =
		s.corsOrigins.length === 0
			? undefined
			: {
					origin: s.corsOrigins.includes("*") ? "*" : s.corsOrigins,
					methods: ["GET", "POST", "PUT", "DELETE"],
					allowedHeaders: ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
					exposedHeaders: [
						"X-Request-ID",
						"X-Rate-Limit-Limit",
						"X-Rate-Limit-Remaining",
						"X-Rate-Limit-Reset",
						"Retry-After"
					],
					credentials: false,
					maxAge: 600
				};
	const json = { json: { limit: s.bodyLimit, strict: true }, urlencoded: false };
	const api = {
		cors,
		bodyParsers: json,
		mappingPolicy: "restrict" as const,
		use: [refusePrototypeKeys]
	};

	return [
		{
			name: "probes",
			path: "/",
			bodyParsers: false,
			mappingPolicy: "restrict",
			logging: false,
			aliases: {
				"GET /health": health,
				"HEAD /health": health,
				"GET /ready": ready,
				"HEAD /ready": ready
			}
		},
		{
			name: "openapi",
			path: "/api",
			...api,
			bodyParsers: false,
			aliases: {
				"GET /openapi.json"(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
					this.sendJson(req, res, 200, buildOpenApiDocument(this.settings.publicUrl));
				}
			}
		},
		{
			name: "pages",
			path: "/",
			// Pages receive their forms; no JSON here.
			bodyParsers: { json: false, urlencoded: { extended: false, limit: "8kb" } },
			mappingPolicy: "restrict",
			rateLimit: limited(s.rateLimit.public),
			aliases: {
				"GET /verify-email": pageAlias(async function (ctx, params) {
					const token = tokenParam(params);
					return token &&
						(await this.tokenIsAlive(ctx, PAGE_TOKEN_TYPES.verifyEmail, token))
						? pages.verifyEmailConfirm(token)
						: pages.invalidLink();
				}),
				"POST /verify-email": pageAlias(async (ctx, params) => {
					const token = tokenParam(params);
					if (!token) return pages.invalidLink();
					const password = stringParam(params, "password");
					try {
						const { passwordKept } = await ctx.call<{ passwordKept: boolean }, object>(
							"auth.verifyEmail",
							password ? { token, password } : { token }
						);
						return pages.verifyEmailDone(passwordKept);
					} catch (err) {
						// A wrong password: the link is not spent, ask again.
						const { status, body } = toPublicError(err);
						if (status !== 401 || body.type !== "INVALID_CREDENTIALS") throw err;
						return pages.verifyEmailConfirm(token, [body.message], 401);
					}
				}),
				"GET /magic-link": pageAlias(async function (ctx, params) {
					const token = tokenParam(params);
					return token &&
						(await this.tokenIsAlive(ctx, PAGE_TOKEN_TYPES.magicLink, token))
						? pages.magicLinkConfirm(token)
						: pages.invalidLink();
				}),
				"POST /magic-link": pageAlias(async (ctx, params) => {
					const token = tokenParam(params);
					if (!token) return pages.invalidLink();
					const session = await ctx.call<SessionTokens, object>(
						"auth.signInWithMagicLink",
						{ token }
					);
					return pages.magicLinkDone(session);
				}),
				"GET /reset-password": pageAlias(async function (ctx, params) {
					const token = tokenParam(params);
					return token &&
						(await this.tokenIsAlive(ctx, PAGE_TOKEN_TYPES.resetPassword, token))
						? pages.resetPasswordForm(token)
						: pages.invalidLink();
				}),
				"POST /reset-password": pageAlias(async (ctx, params) => {
					const token = tokenParam(params);
					if (!token) return pages.invalidLink();
					try {
						await ctx.call("auth.resetPassword", {
							token,
							password: stringParam(params, "password") ?? "",
							confirmPassword: stringParam(params, "confirmPassword") ?? ""
						});
					} catch (err) {
						// A rejected password: the token is not spent, ask again.
						const { status, body } = toPublicError(err);
						if (status !== 422) throw err;
						const messages = Array.isArray(body.data)
							? body.data.map(d => String((d as { message?: unknown }).message))
							: [body.message];
						return pages.resetPasswordForm(token, messages, 422);
					}
					return pages.resetPasswordDone();
				}),
				"GET /token/:token": pageAlias(async (ctx, params) => {
					const token = tokenParam(params);
					const link = token
						? await ctx.call<{ action: string } | null, object>("links.load", { token })
						: null;
					return token && link
						? pages.actionConfirm(token, link.action)
						: pages.invalidLink(404);
				}),
				// The confirm page posts its token in a hidden field; the path form is the contract's.
				"POST /token": pageAlias(redeemLink),
				"POST /token/:token": pageAlias(redeemLink)
			}
		},
		{
			name: "auth",
			path: "/api/auth",
			...api,
			rateLimit: limited(s.rateLimit.public),
			aliases: {
				"POST /sign-up": "auth.signUp",
				"POST /verify-email": "auth.verifyEmail",
				"POST /resend-verification": "auth.resendVerification",
				"POST /sign-in": "auth.signIn",
				"POST /magic-link": "auth.requestMagicLink",
				"POST /magic-link/sign-in": "auth.signInWithMagicLink",
				"POST /forgot-password": "auth.forgotPassword",
				"POST /reset-password": "auth.resetPassword",
				"POST /refresh": "auth.refresh",
				"POST /sign-out": "auth.signOut"
			}
		},
		{
			name: "me",
			path: "/api/me",
			...api,
			rateLimit: limited(s.rateLimit.user),
			authentication: "authenticateUser",
			authorization: "requireUser",
			aliases: {
				// auth's answer to "who is calling" already holds the profile (see resolveUser).
				"GET /"(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
					this.sendJson(req, res, 200, (req.$ctx.locals as CallerLocals).profile);
				},
				"POST /password": "auth.changePassword",
				"POST /sign-out-everywhere": "auth.signOutEverywhere",
				"GET /api-keys": "auth.listApiKeys",
				"POST /api-keys": "auth.createApiKey",
				"DELETE /api-keys/:id": "auth.revokeApiKey"
			}
		},
		{
			name: "admin",
			path: "/api",
			...api,
			rateLimit: limited(s.rateLimit.admin),
			authentication: "authenticateAdmin",
			authorization: "requireAdmin",
			aliases: {
				"POST /tokens": "tokens.generate",
				"POST /tokens/check": "tokens.check",
				"POST /tokens/remove": "tokens.remove",
				"GET /tokens": "tokens.listByOwner",
				"DELETE /tokens": "tokens.removeByOwner",
				"GET /pools/:pool": "pools.stats",
				"PUT /pools/:pool": "pools.configure",
				"POST /pools/:pool/generate-token": "pools.generate",
				"POST /pools/:pool/assign-token": "pools.assign",
				"POST /pools/:pool/keep-alive": "pools.keepAlive",
				"POST /pools/:pool/unblock-token": "pools.unblock",
				"POST /pools/:pool/delete-token": "pools.delete"
			},
			onBeforeCall(_ctx: Context, _route: unknown, req: IncomingRequest) {
				// The seed's pool API names the client `client_id`.
				const params = req.$params as Record<string, unknown>;
				if (params && "client_id" in params) {
					if (!("clientId" in params)) params.clientId = params.client_id;
					delete params.client_id;
				}
			},
			onAfterCall(
				ctx: Context<unknown, ApiMeta>,
				_route: unknown,
				req: IncomingRequest,
				_res: GatewayResponse,
				data: unknown
			) {
				if (req.$alias?.action === "pools.generate") {
					// The seed answers 201 Created; Location names the pool it went into.
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/api/pools/${encodeURIComponent(String(req.$params.pool))}`;
				}
				return data;
			}
		}
	] as ApiRouteSchema[];
}

const ApiService: ServiceSchema<ApiServiceSettings, ApiMethods, ApiLocalVars> = {
	name: "api",

	mixins: [ApiGateway as unknown as Partial<ServiceSchema>],

	settings: {
		// The admin credential must not travel to other nodes in the service registry.
		$secureSettings: ["adminToken"],
		port: wholeNumberFromEnv(process.env, "PORT", 3000),
		ip: process.env.IP || "0.0.0.0",
		publicUrl: (process.env.PUBLIC_URL || "http://localhost:3000").replace(/\/+$/, ""),
		adminToken: process.env.ADMIN_TOKEN || null,
		trustProxy: process.env.TRUST_PROXY ?? "",
		corsOrigins: listFromEnv(process.env, "CORS_ORIGINS"),
		bodyLimit: process.env.BODY_LIMIT || "16kb",
		rateLimit: {
			window: durationFromEnv(process.env, "RATE_LIMIT_WINDOW", 60),
			public: wholeNumberFromEnv(process.env, "RATE_LIMIT_PUBLIC", 30),
			user: wholeNumberFromEnv(process.env, "RATE_LIMIT_USER", 120),
			admin: wholeNumberFromEnv(process.env, "RATE_LIMIT_ADMIN", 600)
		},
		readyServices: ["tokens", "auth"],
		readyTimeout: 1000,

		routes: [],
		// Parameters and response bodies hold tokens and passwords: never logged.
		logRequestParams: null,
		logResponseData: null,
		log4XXResponses: false,
		logRouteRegistration: "debug",
		qsOptions: { depth: 2, parameterLimit: 50, arrayLimit: 20 },
		use: [
			function guard(
				this: ApiThis,
				req: IncomingRequest,
				res: GatewayResponse,
				next: (err?: unknown) => void
			) {
				// Responses carry tokens and personal data: never cached or sniffed.
				res.setHeader("Cache-Control", "no-store");
				res.setHeader("X-Content-Type-Options", "nosniff");
				res.setHeader("Referrer-Policy", "no-referrer");
				const url = req.originalUrl ?? req.url ?? "";
				if (url.length > MAX_URL_LENGTH) {
					// Refused before anything reads the URL (masking, routing, rate limiting).
					return next(
						new Errors.MoleculerClientError("URI too long", 414, "URI_TOO_LONG")
					);
				}
				if (
					(req.method === "POST" || req.method === "PUT") &&
					url.startsWith("/api/") &&
					url.includes("?")
				) {
					// Passwords and tokens in a URL end up in proxies' and browsers' logs.
					return next(
						new Errors.MoleculerClientError(
							"Send parameters in the JSON body, not in the URL.",
							400,
							"QUERY_NOT_ALLOWED"
						)
					);
				}
				if (this.broker.stopping) {
					// Shutting down: finish what is in flight, take nothing new.
					res.setHeader("Connection", "close");
					return next(new ServiceUnavailableError("SHUTTING_DOWN"));
				}
				// Who is calling, as far as we can tell: every call of this request carries it.
				(req.$ctx.meta as ApiMeta).ip = clientAddress(
					req.socket.remoteAddress,
					req.headers["x-forwarded-for"],
					this.trust
				);
				// moleculer-web routes OPTIONS as the method it names (or GET) and would run the
				// action when the route has no CORS: an OPTIONS request never reaches an action.
				const preflight =
					req.$route?.cors && req.headers["access-control-request-method"] !== undefined;
				if (req.method === "OPTIONS" && !preflight) {
					res.writeHead(204, { "Content-Length": "0" });
					res.end();
					return;
				}
				next();
			}
		]
	},

	actions: {
		/**
		 * moleculer-web handles every HTTP request in its private `rest` action. The broker's retry
		 * policy would run the whole request again after a retryable failure of any call inside it
		 * (a POST that spends a token, a second body read): the calls it makes are retried on their
		 * own terms instead.
		 */
		rest: {
			retryPolicy: { enabled: false },
			/**
			 * moleculer-web names the request's span after the raw URL and tags it with it: with
			 * tracing on, every mail-link token (`?token=`, `/token/…`) would be in the traces and in
			 * the tracer's debug log. The masked URL instead (lib/http/url-masking).
			 */
			tracing: {
				spanName: (ctx: Context) => `${requestOf(ctx).method} ${maskedUrlOf(ctx)}`,
				tags: (ctx: Context) => ({
					params: { req: { method: requestOf(ctx).method, url: maskedUrlOf(ctx) } }
				})
			}
		}
	},

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
		async resolveUser(this: ApiThis, ctx: Context, credential: Credential) {
			const { user, profile } =
				credential.kind === "api-key"
					? await ctx.call<ResolvedCaller, object>("auth.resolveApiKey", {
							key: credential.value
						})
					: await ctx.call<ResolvedCaller, object>("auth.resolveAccessToken", {
							token: credential.value
						});
			(ctx.locals as CallerLocals).profile = profile;
			return user;
		},

		/** /api/me: a JWT or an API key, resolved by `auth`; no credential leaves the user unset. */
		async authenticateUser(this: ApiThis, ctx: Context, _route: unknown, req: IncomingRequest) {
			const credential = this.credentialOf(req);
			return credential ? this.resolveUser(ctx, credential) : null;
		},

		requireUser(this: ApiThis, ctx: Context<unknown, ApiMeta>) {
			if (!ctx.meta.user) throw unauthorized();
		},

		/**
		 * Admin routes: ADMIN_TOKEN (as `Authorization: Bearer` only), or an API key whose scopes
		 * include "admin"; a pool client's routes also take a key scoped to that pool. Keys are resolved
		 * by `auth` like everywhere else (tokens.check with isUsed, scopes intersected with the
		 * owner's current ones, so taking "admin" from a user takes it from their keys). ADMIN_TOKEN
		 * is checked here and keeps working while `auth` is down. A user's access token is never an
		 * admin credential.
		 */
		async authenticateAdmin(
			this: ApiThis,
			ctx: Context,
			_route: unknown,
			req: IncomingRequest
		): Promise<CallerIdentity> {
			const credential = this.credentialOf(req);
			if (!credential) throw unauthorized();
			if (credential.header === "authorization" && this.isAdminToken(credential.value)) {
				return { id: "admin", username: "admin", scopes: ["admin"], via: "admin-token" };
			}
			if (credential.kind === "api-key") return this.resolveUser(ctx, credential);
			throw unauthorized("INVALID_TOKEN");
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

		isAdminToken(this: ApiThis, candidate: string): boolean {
			if (!this.adminTokenDigest) return false;
			// Digests have equal lengths, so timingSafeEqual never throws or leaks the length.
			const digest = createHash("sha256").update(candidate).digest();
			return timingSafeEqual(digest, this.adminTokenDigest);
		},

		/** Ready when every required service has a node that answers; never while stopping. */
		async readiness(this: ApiThis) {
			const services: Record<string, boolean> = {};
			const available = this.broker.registry.getServiceList({ onlyAvailable: true }) as {
				name: string;
				nodeID: string;
				local: boolean;
			}[];
			await Promise.all(
				this.settings.readyServices.map(async name => {
					const nodes = available.filter(svc => svc.name === name);
					if (nodes.some(n => n.local)) {
						services[name] = true;
						return;
					}
					const pongs = await Promise.all(
						nodes.map(n => this.broker.ping(n.nodeID, this.settings.readyTimeout))
					);
					services[name] = pongs.some(p => p != null);
				})
			);
			const ready = !this.broker.stopping && Object.values(services).every(Boolean);
			return { ready, services };
		},

		/** Whether a one-time token of this type exists and is unexpired, without spending it. */
		async tokenIsAlive(this: ApiThis, ctx: Context, type: string, token: string) {
			return (await ctx.call("tokens.check", { type, token })) != null;
		},

		/** Renders a page, or the page for the error: invalid link, locked, rate limited, down. */
		servePage(
			this: ApiThis,
			req: IncomingRequest,
			res: GatewayResponse,
			next: (err?: unknown) => void,
			render: (ctx: Context, params: Record<string, unknown>) => Promise<Page>
		) {
			const params = (req.$params ?? {}) as Record<string, unknown>;
			render(req.$ctx as unknown as Context, params).then(
				page => this.sendPage(req, res, page),
				err => next(err)
			);
		},

		sendPage(this: ApiThis, req: IncomingRequest, res: GatewayResponse, page: Page) {
			if (res.headersSent) return;
			const body = renderPage(page);
			res.writeHead(page.status, {
				...PAGE_HEADERS,
				"Content-Length": Buffer.byteLength(body)
			});
			res.end(req.method === "HEAD" ? undefined : body);
			this.logResponse(req, res);
		},

		sendJson(
			this: ApiThis,
			req: IncomingRequest,
			res: GatewayResponse,
			status: number,
			body: unknown
		) {
			if (res.headersSent) return;
			const text = JSON.stringify(body);
			res.writeHead(status, {
				"Content-Type": "application/json; charset=utf-8",
				"Content-Length": Buffer.byteLength(text),
				"Cache-Control": "no-store",
				"X-Content-Type-Options": "nosniff"
			});
			res.end(req.method === "HEAD" ? undefined : text);
			this.logResponse(req, res);
		},

		/** moleculer-web logs `req.originalUrl`: ours masks the tokens in it. */
		logRequest(this: ApiThis, req: IncomingRequest) {
			if (!this.logsRequests || (req.$route && !req.$route.logging)) return;
			const level = this.settings.logRequest;
			if (level && level in this.logger) {
				this.logger[level](`=> ${req.method} ${maskUrl(req.originalUrl ?? req.url ?? "")}`);
			}
		},

		logResponse(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
			if (!this.logsResponses || (req.$route && !req.$route.logging)) return;
			const level = this.settings.logResponse;
			if (!level || !(level in this.logger)) return;
			let time = "";
			if (req.$startTime) {
				const [s, ns] = process.hrtime(req.$startTime as [number, number]);
				time = ` [+${(s * 1000 + ns / 1e6).toFixed(3)} ms]`;
			}
			this.logger[level](
				`<= ${res.statusCode} ${req.method} ${maskUrl(req.originalUrl ?? req.url ?? "")}${time}`
			);
		},

		/** Server-side failures are logged (masked URL, no parameters); client errors are not. */
		errorHandler(this: ApiThis, req: IncomingRequest, res: GatewayResponse, err: unknown) {
			const { status } = toPublicError(err);
			// A node shedding load (503 BUSY) answers many such refusals in a storm: one log line
			// each would add a log flood to it.
			if (status >= 500 && (err as { type?: unknown })?.type !== "BUSY") {
				const e = (err ?? {}) as { name?: string; message?: string; stack?: string };
				const url = maskUrl(req.originalUrl ?? req.url ?? "");
				if (err instanceof Errors.MoleculerError || status === 503 || status === 504) {
					this.logger.warn(
						`Request failed: ${req.method} ${url}: ${e.name}: ${e.message}`
					);
				} else {
					this.logger.error(`Request failed: ${req.method} ${url}`, e.stack ?? e.message);
				}
			}
			this.sendError(req, res, err);
		},

		/** Errors as small JSON bodies (lib/http/public-error), or as an HTML page on the mail pages. */
		sendError(this: ApiThis, req: IncomingRequest, res: GatewayResponse, err: unknown) {
			if (res.headersSent) {
				res.end();
				return;
			}
			const { status, body } = toPublicError(err);
			if (req.$route?.opts?.name === "pages" && req.$alias) {
				const aliasPath = (req.$alias as unknown as { fullPath: string }).fullPath;
				this.sendPage(req, res, pageForError(status, body.type, aliasPath));
				return;
			}
			if (status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="api"');
			if (status === 429 || status === 423 || status === 503) {
				const store = (req.$route as { rateLimit?: { store?: { resetTime?: number } } })
					?.rateLimit?.store;
				const retryAfter =
					(body.data as { retryAfter?: number } | undefined)?.retryAfter ??
					(status === 429 && store?.resetTime
						? Math.max(1, Math.ceil((store.resetTime - Date.now()) / 1000))
						: undefined);
				if (retryAfter !== undefined) res.setHeader("Retry-After", String(retryAfter));
			}
			this.sendJson(req, res, status, body);
		}
	},

	/** Routes are built from the final settings, so tests and the environment can change them. */
	merged(schema) {
		// A new settings object: the schema's own is shared by every broker in the process (tests).
		schema.settings = { ...schema.settings!, routes: buildRoutes(schema.settings!) };
	},

	created(this: ApiThis) {
		this.trust = parseTrustProxy(this.settings.trustProxy);
		// Masking a URL for a line nobody prints showed in the gateway's profile.
		const enabled = (level: unknown) =>
			typeof level === "string" && logLevelEnabled(this.logger, this.fullName, level);
		this.logsRequests = enabled(this.settings.logRequest);
		this.logsResponses = enabled(this.settings.logResponse);
		const token = this.settings.adminToken;
		if (token && token.length < MIN_SECRET_LENGTH && isProduction(process.env)) {
			throw new Error(
				`ADMIN_TOKEN is too short: use at least ${MIN_SECRET_LENGTH} random characters (e.g. \`openssl rand -base64 48\`)`
			);
		}
		this.adminTokenDigest = token ? createHash("sha256").update(token).digest() : null;
		if (!token) {
			this.logger.info(
				"ADMIN_TOKEN is not set: token administration routes accept only API keys with the 'admin' scope."
			);
		}
	}
};

export default ApiService;
