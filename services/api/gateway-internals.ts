/**
 * The `api` service's own types: who is calling, its settings, and `this` as its handlers and the
 * mixins it is made of (services/api/*) see it.
 */
import type { Server } from "node:http";
import type { Context, Service, ServiceSchema } from "moleculer";
import { typedMixin, type MixinOf } from "../../lib/broker/typed-mixin";
import type { ApiSettingsSchema, GatewayResponse, IncomingRequest } from "moleculer-web";
import type { TrustProxy } from "../../lib/http/client-address";
import type { Page, PageTheme, Pages, SessionTokens } from "../../lib/http/page-rendering";
import type { CookiePolicy } from "../../lib/http/session-cookies";

/** Who is calling, as CONTRACTS.md defines it (plus "admin-token" for ADMIN_TOKEN on admin routes). */
export interface CallerIdentity {
	id: string;
	username: string;
	scopes: string[];
	via: "jwt" | "api-key" | "admin-token";
}

/** auth.resolveApiKey's and auth.resolveAccessToken's answer (auth.service's ResolvedUser). */
export interface ResolvedCaller {
	user: CallerIdentity;
	profile: Record<string, unknown>;
	/** An API key's nearest rate limit (X-RateLimit-*). */
	rateLimit?: { limit: number; remaining: number; reset: number };
}

/** What the gateway keeps about the caller in `ctx.locals` for the rest of the request. */
export interface CallerLocals {
	profile?: Record<string, unknown>;
	/** This /api/auth request uses cookie sessions (services/api/cookie-sessions). */
	cookieSession?: boolean;
}

export interface ApiMeta {
	user?: CallerIdentity | null;
	/** The client's address (lib/http/client-address), for per-address limits in `auth`. */
	ip?: string;
	/** The client's User-Agent header, cut to 200 characters (shown in the sessions list). */
	userAgent?: string;
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
	/** Seconds caches may keep the JWKS: at most auth's JWT_KEY_PUBLISH_DELAY. */
	jwksMaxAge: number;
	/** Lifetime of the refresh cookie: REFRESH_TOKEN_TTL, as `auth` reads it (seconds). */
	refreshCookieMaxAge: number;
	/** Requests per client address per window (seconds). */
	rateLimit: { window: number; public: number; user: number; admin: number };
	/** Services that must be reachable for GET /ready to answer 200. */
	readyServices: string[];
	/** Milliseconds to wait for a remote node's pong in GET /ready. */
	readyTimeout: number;
	/**
	 * Seconds a stopping gateway keeps serving while /ready answers 503, so a load balancer stops
	 * sending before it stops taking requests (GATEWAY_DRAIN_DELAY).
	 */
	drainDelay: number;
	/** Where a sign-in on a page sends the browser, signed in with cookies (APP_URL); null: stay. */
	appUrl: string | null;
	/** URL prefixes a page's `next` may go to besides APP_URL (REDIRECT_ALLOWLIST). */
	redirectAllowlist: string[];
	/** The operator's page templates (PAGES_DIR: theme.json, <language>.json); null: as shipped. */
	pagesDir: string | null;
	/** The pages' language (PAGES_LANGUAGE: en, fr); null: theme.json's, else English. */
	pagesLanguage: string | null;
}

export interface ApiMethods {
	drain(): Promise<void>;
	signedInPage(session: SessionTokens, next: string | null): Page;
	authenticateUser(
		ctx: Context,
		route: unknown,
		req: IncomingRequest,
		res: GatewayResponse
	): Promise<CallerIdentity | null>;
	requireUser(ctx: Context<unknown, ApiMeta>): void;
	authenticateAdmin(
		ctx: Context,
		route: unknown,
		req: IncomingRequest,
		res: GatewayResponse
	): Promise<CallerIdentity>;
	requireAdmin(ctx: Context<unknown, ApiMeta>, route: unknown, req: IncomingRequest): void;
	requireIntrospector(ctx: Context<unknown, ApiMeta>): void;
	credentialOf(req: IncomingRequest): Credential | null;
	resolveUser(
		ctx: Context,
		credential: Credential,
		res?: GatewayResponse
	): Promise<CallerIdentity>;
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

export interface ApiLocalVars {
	/** Whether settings.logRequest / logResponse print at this logger's level (lib/broker/log-level). */
	logsRequests: boolean;
	logsResponses: boolean;
	server: Server;
	adminTokenDigest: Buffer | null;
	trust: TrustProxy;
	cookiePolicy: CookiePolicy;
	/** Past the drain delay: new requests are refused (see `drain`). */
	closed: boolean;
	/** The mail-link pages in the configured language and look (lib/http/page-templates). */
	pages: Pages;
	pageTheme: PageTheme;
	pageHeaders: Readonly<Record<string, string>>;
}

export type ApiThis = Service<ApiServiceSettings> & ApiMethods & ApiLocalVars;

/**
 * A credential and where it came from: ADMIN_TOKEN is accepted only as `Authorization: Bearer`;
 * the access cookie only on /api/me, and only from an allowed origin when it changes anything.
 */
export type Credential = {
	kind: "jwt" | "api-key";
	value: string;
	header: "authorization" | "x-api-key" | "cookie";
};

/** A mixin of this service, checked against ApiMethods (lib/broker/typed-mixin). */
export function apiMixin(
	mixin: MixinOf<ApiServiceSettings, ApiMethods, ApiLocalVars>
): Partial<ServiceSchema> {
	return typedMixin<ApiServiceSettings, ApiMethods, ApiLocalVars>(mixin);
}
