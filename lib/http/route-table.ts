/**
 * The gateway's routes: the one list that moleculer-web's aliases (services/api/gateway-routes.ts), the
 * OpenAPI document (lib/http/openapi.ts) and the REST property tests all read, so none of them
 * can name a route the others do not know.
 *
 * A route either calls an action (`action`) or is answered by the gateway itself (`handler`: a
 * page, a probe, the OpenAPI document, GET /api/me from the caller's resolution).
 */
export type Method = "GET" | "HEAD" | "POST" | "PUT" | "DELETE";

/** Route groups share their path prefix, body parsing, rate limit and credentials. */
export type GroupName =
	"probes" | "openapi" | "pages" | "auth" | "me" | "admin" | "introspection" | "revocation";

export interface Route {
	method: Method;
	/** Inside the group's path; `:name` is a path parameter. */
	path: string;
	action?: string;
	handler?: string;
	/**
	 * The route takes a secret (a password, token, code or key) in its body: a request to it with a
	 * query string is refused, since URLs end up in proxies' and browsers' logs.
	 */
	secret?: true;
}

export interface RouteGroup {
	name: GroupName;
	path: string;
	routes: Route[];
}

const call = (method: Method, path: string, action: string): Route => ({ method, path, action });
const handle = (method: Method, path: string, handler: string): Route => ({
	method,
	path,
	handler
});
/** A route taking a secret in its body (see Route.secret). */
const secret = (route: Route): Route => ({ ...route, secret: true });

export const ROUTE_GROUPS: readonly RouteGroup[] = [
	{
		name: "probes",
		path: "/",
		routes: [
			handle("GET", "/health", "health"),
			handle("HEAD", "/health", "health"),
			handle("GET", "/ready", "ready"),
			handle("HEAD", "/ready", "ready"),
			handle("GET", "/.well-known/jwks.json", "jwks")
		]
	},
	{ name: "openapi", path: "/api", routes: [handle("GET", "/openapi.json", "openapi")] },
	{
		name: "pages",
		path: "/",
		routes: [
			handle("GET", "/verify-email", "verifyEmailPage"),
			secret(handle("POST", "/verify-email", "verifyEmail")),
			handle("GET", "/magic-link", "magicLinkPage"),
			secret(handle("POST", "/magic-link", "magicLink")),
			secret(handle("POST", "/magic-link/totp", "magicLinkTotp")),
			handle("GET", "/reset-password", "resetPasswordPage"),
			secret(handle("POST", "/reset-password", "resetPassword")),
			handle("GET", "/token/:token", "actionLinkPage"),
			// The confirm page posts its token in a hidden field; the path form is the contract's.
			secret(handle("POST", "/token", "redeemActionLink")),
			handle("POST", "/token/:token", "redeemActionLink")
		]
	},
	{
		name: "auth",
		path: "/api/auth",
		routes: [
			secret(call("POST", "/sign-up", "auth.signUp")),
			secret(call("POST", "/verify-email", "auth.verifyEmail")),
			call("POST", "/resend-verification", "auth.resendVerification"),
			secret(call("POST", "/sign-in", "auth.signIn")),
			call("POST", "/magic-link", "auth.requestMagicLink"),
			secret(call("POST", "/magic-link/sign-in", "auth.signInWithMagicLink")),
			call("POST", "/email-code", "auth.requestEmailCode"),
			secret(call("POST", "/email-code/sign-in", "auth.signInWithEmailCode")),
			secret(call("POST", "/verify-email/code", "auth.verifyEmailWithCode")),
			secret(call("POST", "/verify-device", "auth.verifyDevice")),
			secret(call("POST", "/sign-in/totp", "auth.signInWithTotp")),
			secret(call("POST", "/sign-in/passkey", "auth.signInWithPasskeyStep")),
			call("POST", "/forgot-password", "auth.forgotPassword"),
			secret(call("POST", "/reset-password", "auth.resetPassword")),
			secret(call("POST", "/refresh", "auth.refresh")),
			secret(call("POST", "/sign-out", "auth.signOut")),
			secret(call("POST", "/passkey/options", "auth.passkeySignInOptions")),
			secret(call("POST", "/passkey/sign-in", "auth.signInWithPasskey"))
		]
	},
	{
		name: "me",
		path: "/api/me",
		routes: [
			// auth's answer to "who is calling" already holds the profile: no second call.
			handle("GET", "/", "me"),
			secret(call("DELETE", "/", "auth.deleteAccount")),
			secret(call("POST", "/password", "auth.changePassword")),
			call("POST", "/sign-out-everywhere", "auth.signOutEverywhere"),
			call("GET", "/api-keys", "auth.listApiKeys"),
			call("POST", "/api-keys", "auth.createApiKey"),
			call("DELETE", "/api-keys/:id", "auth.revokeApiKey"),
			call("PUT", "/api-keys/:id", "auth.updateApiKey"),
			call("POST", "/api-keys/:id/reroll", "auth.rerollApiKey"),
			call("GET", "/sessions", "auth.listSessions"),
			call("DELETE", "/sessions/:id", "auth.revokeSession"),
			secret(call("POST", "/totp", "auth.enrollTotp")),
			secret(call("POST", "/totp/confirm", "auth.confirmTotp")),
			secret(call("DELETE", "/totp", "auth.disableTotp")),
			secret(call("POST", "/passkeys/options", "auth.passkeyRegistrationOptions")),
			secret(call("POST", "/passkeys", "auth.addPasskey")),
			call("GET", "/passkeys", "auth.listPasskeys"),
			call("PUT", "/passkeys/:id", "auth.renamePasskey"),
			call("DELETE", "/passkeys/:id", "auth.removePasskey"),
			call("GET", "/security-events", "audit.securityEvents")
		]
	},
	// RFC 7662 and RFC 7009, form-encoded: introspection for trusted callers, revocation for anyone.
	{
		name: "introspection",
		path: "/oauth2",
		routes: [secret(call("POST", "/introspect", "auth.introspect"))]
	},
	{
		name: "revocation",
		path: "/oauth2",
		routes: [secret(call("POST", "/revoke", "auth.revoke"))]
	},
	{
		name: "admin",
		path: "/api",
		routes: [
			call("POST", "/tokens", "tokens.generate"),
			secret(call("POST", "/tokens/check", "tokens.check")),
			secret(call("POST", "/tokens/remove", "tokens.remove")),
			call("GET", "/tokens", "tokens.listByOwner"),
			call("DELETE", "/tokens", "tokens.removeByOwner"),
			call("GET", "/admin/audit", "audit.list"),
			call("GET", "/admin/audit/export", "audit.export"),
			call("GET", "/admin/users", "auth.adminListUsers"),
			call("POST", "/admin/users", "auth.adminCreateUser"),
			call("GET", "/admin/users/:id", "auth.adminGetUser"),
			call("DELETE", "/admin/users/:id", "auth.adminDeleteUser"),
			call("PUT", "/admin/users/:id/roles", "auth.adminSetRoles"),
			call("POST", "/admin/users/:id/lock", "auth.adminLockUser"),
			call("POST", "/admin/users/:id/unlock", "auth.adminUnlockUser"),
			call("POST", "/admin/users/:id/sign-out-everywhere", "auth.adminSignOutUser"),
			call("DELETE", "/admin/users/:id/sessions/:session", "auth.adminRevokeSession"),
			call("POST", "/admin/users/:id/clear-attempts", "auth.adminClearAttempts"),
			call("POST", "/admin/users/:id/resend-verification", "auth.adminResendVerification"),
			call("POST", "/admin/users/:id/password-reset", "auth.adminSendPasswordReset"),
			call("GET", "/pools/:pool", "pools.stats"),
			call("PUT", "/pools/:pool", "pools.configure"),
			call("POST", "/pools/:pool/generate-token", "pools.generate"),
			call("POST", "/pools/:pool/assign-token", "pools.assign"),
			secret(call("POST", "/pools/:pool/keep-alive", "pools.keepAlive")),
			secret(call("POST", "/pools/:pool/unblock-token", "pools.unblock")),
			secret(call("POST", "/pools/:pool/delete-token", "pools.delete"))
		]
	}
];

export interface FullRoute extends Route {
	group: GroupName;
	/** As a client calls it, e.g. `/api/pools/:pool/keep-alive`. */
	fullPath: string;
}

function join(prefix: string, path: string): string {
	const joined = `${prefix.replace(/\/$/, "")}${path === "/" ? "" : path}`;
	return joined === "" ? "/" : joined;
}

/** Every route with its full path, in table order. */
export function allRoutes(): FullRoute[] {
	return ROUTE_GROUPS.flatMap(g =>
		g.routes.map(r => ({ ...r, group: g.name, fullPath: join(g.path, r.path) }))
	);
}

/** A path pattern as a case-insensitive RegExp, as moleculer-web matches it. */
function pathPattern(fullPath: string): RegExp {
	const source = fullPath
		.split("/")
		.map(part => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
		.join("/");
	return new RegExp(`^${source}/?$`, "i");
}

const SECRET_ROUTES = allRoutes()
	.filter(r => r.secret)
	.map(r => ({ method: r.method, pattern: pathPattern(r.fullPath) }));

/** Whether `method pathname` reaches a route that takes a secret (any letter case). */
export function takesSecret(method: string, pathname: string): boolean {
	return SECRET_ROUTES.some(r => r.method === method && r.pattern.test(pathname));
}

/** The moleculer-web aliases of one group: an action name, or the handler of that name. */
export function aliasesOf<H>(
	group: GroupName,
	handlers: Record<string, H>
): Record<string, string | H> {
	const found = ROUTE_GROUPS.find(g => g.name === group);
	if (!found) throw new Error(`No route group '${group}'`);
	const aliases: Record<string, string | H> = {};
	for (const r of found.routes) {
		const target = r.action ?? handlers[r.handler!];
		if (target === undefined)
			throw new Error(`No handler '${r.handler}' for ${r.method} ${r.path}`);
		aliases[`${r.method} ${r.path}`] = target;
	}
	return aliases;
}
