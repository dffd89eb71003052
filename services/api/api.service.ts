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
import { createHash } from "node:crypto";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import ApiGateway, { type GatewayResponse, type IncomingRequest } from "moleculer-web";
import { clientAddress, parseTrustProxy } from "../../lib/http/client-address";
import { durationFromEnv } from "../../lib/config/durations";
import { wholeNumberFromEnv, publicUrlFromEnv } from "../../lib/config/env";

import {
	pageHeaders,
	renderPage,
	type Page,
	type SessionTokens
} from "../../lib/http/page-rendering";
import { loadPageTemplates } from "../../lib/http/page-templates";
import { toPublicError } from "../../lib/http/public-error";
import { MIN_SECRET_LENGTH } from "../../lib/config/secrets";
import { isProduction, listFromEnv } from "../../lib/config/env";
import { logLevelEnabled } from "../../lib/broker/log-level";
import { maskUrl } from "../../lib/http/url-masking";
import {
	cookiePolicyFor,
	crossSiteForm,
	isUnder,
	sessionCookies
} from "../../lib/http/session-cookies";
import type {
	ApiLocalVars,
	ApiMeta,
	ApiMethods,
	ApiServiceSettings,
	ApiThis,
	ResolvedCaller
} from "./gateway-internals";

type RateLimitReport = NonNullable<ResolvedCaller["rateLimit"]>;
import CredentialsMixin, { MAX_URL_LENGTH, setRateLimitHeaders } from "./credentials.mixin";
import { crossSiteRefused } from "./cookie-sessions";
import { pageForError } from "./page-handlers";
import { buildRoutes } from "./gateway-routes";
import { takesSecret } from "../../lib/http/route-table";

/** Characters of a User-Agent header kept for the sessions list. */
const MAX_USER_AGENT = 200;

const { ServiceUnavailableError } = ApiGateway.Errors;

/** The HTTP request of moleculer-web's `rest` action, and its URL with the tokens masked. */
function requestOf(ctx: Context): IncomingRequest {
	return (ctx.params as { req: IncomingRequest }).req;
}
function maskedUrlOf(ctx: Context): string {
	const req = requestOf(ctx);
	return maskUrl(req.originalUrl ?? req.url ?? "");
}

const ApiService: ServiceSchema<ApiServiceSettings, ApiMethods, ApiLocalVars> = {
	name: "api",

	mixins: [ApiGateway as unknown as Partial<ServiceSchema>, CredentialsMixin],

	settings: {
		// The admin credential must not travel to other nodes in the service registry.
		$secureSettings: ["adminToken"],
		port: wholeNumberFromEnv(process.env, "PORT", 3000),
		ip: process.env.IP || "0.0.0.0",
		publicUrl: publicUrlFromEnv(process.env),
		adminToken: process.env.ADMIN_TOKEN || null,
		trustProxy: process.env.TRUST_PROXY ?? "",
		corsOrigins: listFromEnv(process.env, "CORS_ORIGINS"),
		bodyLimit: process.env.BODY_LIMIT || "16kb",
		jwksMaxAge: durationFromEnv(process.env, "JWT_KEY_PUBLISH_DELAY", 300),
		refreshCookieMaxAge: durationFromEnv(process.env, "REFRESH_TOKEN_TTL", 30 * 24 * 3600),
		rateLimit: {
			window: durationFromEnv(process.env, "RATE_LIMIT_WINDOW", 60),
			public: wholeNumberFromEnv(process.env, "RATE_LIMIT_PUBLIC", 30),
			user: wholeNumberFromEnv(process.env, "RATE_LIMIT_USER", 120),
			admin: wholeNumberFromEnv(process.env, "RATE_LIMIT_ADMIN", 600)
		},
		readyServices: ["tokens", "auth"],
		readyTimeout: 1000,
		appUrl: process.env.APP_URL || null,
		pagesDir: process.env.PAGES_DIR || null,
		pagesLanguage: process.env.PAGES_LANGUAGE || null,
		redirectAllowlist: listFromEnv(process.env, "REDIRECT_ALLOWLIST"),
		// Behind a load balancer (a cluster), long enough for its health checks to see /ready fail.
		drainDelay: durationFromEnv(
			process.env,
			"GATEWAY_DRAIN_DELAY",
			process.env.TRANSPORTER ? 5 : 0
		),

		routes: [],
		// Parameters and response bodies hold tokens and passwords: never logged.
		logRequestParams: null,
		logResponseData: null,
		// One line per request at info (the answer, with its time); the request lines at debug.
		logRequest: "debug",
		logResponse: "info",
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
				const query = url.indexOf("?");
				if (query !== -1 && takesSecret(req.method ?? "", url.slice(0, query))) {
					// Passwords and tokens in a URL end up in proxies' and browsers' logs.
					return next(
						new Errors.MoleculerClientError(
							"Send parameters in the JSON body, not in the URL.",
							400,
							"QUERY_NOT_ALLOWED"
						)
					);
				}
				if (this.closed) {
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
				// Shown in the user's sessions list; cut short, never parsed.
				const agent = req.headers["user-agent"];
				if (typeof agent === "string" && agent !== "") {
					(req.$ctx.meta as ApiMeta).userAgent = agent.slice(0, MAX_USER_AGENT);
				}
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
		/**
		 * Called by the Drain middleware when the broker stops, before any service does. From the
		 * moment the broker is stopping /ready answers 503 while requests are still served; after
		 * `drainDelay` seconds new ones are refused while those in flight finish.
		 */
		async drain(this: ApiThis) {
			if (this.settings.drainDelay > 0) {
				this.logger.info(`Draining: /ready answers 503 for ${this.settings.drainDelay} s.`);
				await new Promise(resolve => setTimeout(resolve, this.settings.drainDelay * 1000));
			}
			this.closed = true;
		},

		/**
		 * The page after a sign-in on a page: the session goes into the browser's cookies (never onto
		 * the page), and the browser on to `next` when it is APP_URL or under an allow-listed prefix,
		 * else to APP_URL, else it stays on a "signed in" page.
		 */
		signedInPage(this: ApiThis, session: SessionTokens, next: string | null): Page {
			const cookies = sessionCookies(this.cookiePolicy, session);
			const allowed = [this.settings.appUrl, ...this.settings.redirectAllowlist].filter(
				(prefix): prefix is string => Boolean(prefix)
			);
			const target = next && allowed.some(prefix => isUnder(next, prefix)) ? next : null;
			return this.pages.signedIn(cookies, target ?? this.settings.appUrl);
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
			if (req.method === "POST" && crossSiteForm(req.headers, this.cookiePolicy)) {
				return next(crossSiteRefused());
			}
			const params = (req.$params ?? {}) as Record<string, unknown>;
			render(req.$ctx as unknown as Context, params).then(
				page => this.sendPage(req, res, page),
				err => next(err)
			);
		},

		sendPage(this: ApiThis, req: IncomingRequest, res: GatewayResponse, page: Page) {
			if (res.headersSent) return;
			if (page.cookies) res.setHeader("Set-Cookie", page.cookies);
			if (page.redirect) {
				res.writeHead(303, {
					...this.pageHeaders,
					Location: page.redirect,
					"Content-Length": 0
				});
				res.end();
				this.logResponse(req, res);
				return;
			}
			const body = renderPage(page, this.pageTheme);
			res.writeHead(page.status, {
				...this.pageHeaders,
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
				this.sendPage(req, res, pageForError(this.pages, status, body.type, aliasPath));
				return;
			}
			if (status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="api"');
			if (status === 429 || status === 423 || status === 503) {
				const store = (req.$route as { rateLimit?: { store?: { resetTime?: number } } })
					?.rateLimit?.store;
				const retryAfter =
					(body.data as { retryAfter?: number } | undefined)?.retryAfter ??
					(body.name === "RateLimitExceeded" && store?.resetTime
						? Math.max(1, Math.ceil((store.resetTime - Date.now()) / 1000))
						: undefined);
				if (retryAfter !== undefined) res.setHeader("Retry-After", String(retryAfter));
				const rateLimit = (body.data as { rateLimit?: RateLimitReport } | undefined)
					?.rateLimit;
				if (rateLimit) setRateLimitHeaders(res, rateLimit);
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
		this.closed = false;
		const templates = loadPageTemplates(this.settings.pagesDir, this.settings.pagesLanguage);
		this.pages = templates.pages;
		this.pageTheme = templates.theme;
		this.pageHeaders = pageHeaders(templates.theme);
		this.trust = parseTrustProxy(this.settings.trustProxy);
		this.cookiePolicy = cookiePolicyFor({
			publicUrl: this.settings.publicUrl,
			corsOrigins: this.settings.corsOrigins,
			refreshMaxAge: this.settings.refreshCookieMaxAge,
			production: isProduction(process.env)
		});
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
