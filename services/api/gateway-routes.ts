/**
 * moleculer-web's route options, built from the route table (lib/http/route-table) and the settings:
 * per group its path, body parsing, rate limit and credentials.
 */
import type { Context } from "moleculer";
import type { ApiRouteSchema, GatewayResponse, IncomingRequest } from "moleculer-web";
import { clientAddress, clientKey, parseTrustProxy } from "../../lib/http/client-address";
import { refusePrototypeKeys } from "../../lib/http/body-guard";
import { buildOpenApiDocument } from "../../lib/http/openapi";
import { aliasesOf, type GroupName } from "../../lib/http/route-table";
import { PAGE_HANDLERS } from "./page-handlers";
import { afterAuthCall, beforeAuthCall } from "./cookie-sessions";
import type { ApiMeta, ApiServiceSettings, ApiThis, CallerLocals } from "./gateway-internals";

function health(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
	this.sendJson(req, res, 200, { status: "ok" });
}

function ready(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
	this.readiness().then(
		r => this.sendJson(req, res, r.ready ? 200 : 503, r),
		() => this.sendJson(req, res, 503, { ready: false, services: {} })
	);
}

/** The OpenAPI document, inputs described from the actions' parameters as the registry has them. */
function openapi(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
	const actions = new Map(
		(
			this.broker.registry.getActionList({ skipInternal: true }) as {
				name: string;
				action?: { params?: Record<string, unknown> };
			}[]
		).map(a => [a.name, a.action?.params])
	);
	this.sendJson(
		req,
		res,
		200,
		buildOpenApiDocument(this.settings.publicUrl, n => actions.get(n))
	);
}

/** GET /api/me: auth's answer to "who is calling" already holds the profile (resolveUser). */
function me(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
	this.sendJson(req, res, 200, (req.$ctx.locals as CallerLocals).profile);
}

/**
 * GET /.well-known/jwks.json: auth's public signing keys. Cacheable, unlike every other answer: a
 * new key is published JWKS_MAX_AGE (JWT_KEY_PUBLISH_DELAY) before it signs.
 */
function jwks(this: ApiThis, req: IncomingRequest, res: GatewayResponse) {
	req.$ctx.call<{ keys: unknown[] }>("auth.jwks").then(
		doc => {
			const text = JSON.stringify(doc);
			res.writeHead(200, {
				"Content-Type": "application/jwk-set+json; charset=utf-8",
				"Content-Length": Buffer.byteLength(text),
				"Cache-Control": `public, max-age=${this.settings.jwksMaxAge}`,
				"X-Content-Type-Options": "nosniff"
			});
			res.end(text);
		},
		() => this.sendJson(req, res, 503, { keys: [] })
	);
}

/** The gateway's own handlers, by the names lib/http/route-table gives them. */
const GATEWAY_HANDLERS = { health, ready, openapi, me, jwks };

/** moleculer-web's rate limit per client address, for a route group's limit per window. */
function limiterFor(s: ApiServiceSettings) {
	const trust = parseTrustProxy(s.trustProxy);
	return (limit: number) => ({
		window: s.rateLimit.window * 1000,
		limit,
		headers: true,
		// The default key is the raw X-Forwarded-For header, which any client can forge.
		key: (req: IncomingRequest) =>
			clientKey(
				clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], trust)
			)
	});
}

/** CORS for the JSON API when CORS_ORIGINS names origins; none otherwise. */
function corsFor(origins: string[]): ApiRouteSchema["cors"] {
	if (origins.length === 0) return undefined;
	return {
		origin: origins.includes("*") ? "*" : origins,
		methods: ["GET", "POST", "PUT", "DELETE"],
		allowedHeaders: ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
		exposedHeaders: [
			"X-Request-ID",
			"X-Rate-Limit-Limit",
			"X-Rate-Limit-Remaining",
			"X-Rate-Limit-Reset",
			"X-RateLimit-Limit",
			"X-RateLimit-Remaining",
			"X-RateLimit-Reset",
			"Retry-After"
		],
		credentials: false,
		maxAge: 600
	};
}

/** The pool REST API's clients name the client `client_id`; the pools actions take `clientId`. */
function poolClientIdParam(_ctx: Context, _route: unknown, req: IncomingRequest) {
	const params = req.$params as Record<string, unknown>;
	if (params && "client_id" in params) {
		if (!("clientId" in params)) params.clientId = params.client_id;
		delete params.client_id;
	}
}

/** The pool REST API answers 201 Created; Location names the pool the token went into. */
function poolCreatedAnswer(
	ctx: Context<unknown, ApiMeta>,
	_route: unknown,
	req: IncomingRequest,
	_res: GatewayResponse,
	data: unknown
) {
	if (req.$alias?.action === "pools.generate") {
		ctx.meta.$statusCode = 201;
		ctx.meta.$location = `/api/pools/${encodeURIComponent(String(req.$params.pool))}`;
	}
	return data;
}

/** moleculer-web's onAfterCall signature (with the route) for cookie-sessions' afterAuthCall. */
function authCallAnswer(
	this: ApiThis,
	ctx: Context,
	_route: unknown,
	req: IncomingRequest,
	res: GatewayResponse,
	data: unknown
) {
	return afterAuthCall.call(this, ctx, req, res, data);
}

/** Form bodies only: the pages' forms, and RFC 7662 and 7009 requests. */
const FORM_BODIES = { json: false, urlencoded: { extended: false, limit: "8kb" } };
const oauthRoute = {
	bodyParsers: FORM_BODIES,
	mappingPolicy: "restrict",
	use: [refusePrototypeKeys]
};

type Limiter = ReturnType<typeof limiterFor>;
type ApiDefaults = ReturnType<typeof apiDefaults>;

/** What every JSON API group shares: CORS, JSON bodies, restricted mapping, no prototype keys. */
function apiDefaults(s: ApiServiceSettings) {
	return {
		cors: corsFor(s.corsOrigins),
		bodyParsers: { json: { limit: s.bodyLimit, strict: true }, urlencoded: false },
		mappingPolicy: "restrict" as const,
		use: [refusePrototypeKeys]
	};
}

function group(name: GroupName, handlers: Record<string, unknown> = {}) {
	return { name, aliases: aliasesOf(name, handlers) };
}

/** The routes the gateway answers itself: probes, this document, the mail pages. */
function ownRoutes(s: ApiServiceSettings, limited: Limiter, api: ApiDefaults) {
	return [
		{
			...group("probes", GATEWAY_HANDLERS),
			path: "/",
			bodyParsers: false,
			mappingPolicy: "restrict",
			logging: false
		},
		{ ...group("openapi", GATEWAY_HANDLERS), path: "/api", ...api, bodyParsers: false },
		{
			...group("pages", PAGE_HANDLERS),
			path: "/",
			bodyParsers: FORM_BODIES,
			mappingPolicy: "restrict",
			rateLimit: limited(s.rateLimit.public)
		}
	];
}

/**
 * moleculer-web route options for a settings object: built once settings are merged. moleculer-web
 * tries the groups in this order.
 */
export function buildRoutes(s: ApiServiceSettings): ApiRouteSchema[] {
	const limited = limiterFor(s);
	const api = apiDefaults(s);
	return [
		...ownRoutes(s, limited, api),
		{
			...group("auth"),
			path: "/api/auth",
			...api,
			rateLimit: limited(s.rateLimit.public),
			onBeforeCall: beforeAuthCall,
			onAfterCall: authCallAnswer
		},
		{
			...group("me", GATEWAY_HANDLERS),
			path: "/api/me",
			...api,
			rateLimit: limited(s.rateLimit.user),
			authentication: "authenticateUser",
			authorization: "requireUser"
		},
		{
			...group("introspection"),
			path: "/oauth2",
			...oauthRoute,
			rateLimit: limited(s.rateLimit.admin),
			authentication: "authenticateAdmin",
			authorization: "requireIntrospector"
		},
		{
			...group("revocation"),
			path: "/oauth2",
			...oauthRoute,
			rateLimit: limited(s.rateLimit.public)
		},
		{
			...group("admin"),
			path: "/api",
			...api,
			rateLimit: limited(s.rateLimit.admin),
			authentication: "authenticateAdmin",
			authorization: "requireAdmin",
			onBeforeCall: poolClientIdParam,
			onAfterCall: poolCreatedAnswer
		}
	] as ApiRouteSchema[];
}
