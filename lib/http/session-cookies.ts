/**
 * Cookie sessions for browser apps: the access and refresh tokens as `HttpOnly` cookies, so page
 * scripts never hold them, and the cross-site request check every request a cookie authenticates
 * must pass. See docs/http-api.md, "Cookie sessions".
 *
 * Cookies are parsed and written with `cookie` (jshttp), the parser Express uses.
 */
import { parseCookie, stringifySetCookie } from "cookie";

/** The access token's cookie, the refresh token's and a remembered device's (see CookiePolicy). */
export const ACCESS_COOKIE = "mtk_access";
export const REFRESH_COOKIE = "mtk_refresh";
export const DEVICE_COOKIE = "mtk_device";
/** As long as a device token lives (tokens' `device` type). */
const DEVICE_MAX_AGE = 90 * 86400;

/** Actions that take the gateway's `cookie` flag, and those that read the refresh cookie. */
export const COOKIE_ACTIONS: ReadonlySet<string> = new Set([
	"auth.signIn",
	"auth.signInWithMagicLink",
	"auth.signInWithEmailCode",
	"auth.verifyDevice",
	"auth.signInWithTotp",
	"auth.refresh",
	"auth.signOut"
]);
export const READS_REFRESH_COOKIE: ReadonlySet<string> = new Set(["auth.refresh", "auth.signOut"]);

export interface CookieNames {
	access: string;
	refresh: string;
	device: string;
}

export interface CookiePolicy {
	/** `Secure`: everywhere except plain-HTTP localhost outside production. */
	secure: boolean;
	/**
	 * With `Secure`, the cookies are `__Host-` cookies (Path=/, no Domain): a sibling subdomain
	 * cannot set or shadow them, which a plain name allows. Without (plain-HTTP localhost, where
	 * browsers refuse the prefix), the plain names, the access token on /api and the refresh token
	 * and device only on /api/auth.
	 */
	names: CookieNames;
	paths: { access: string; refresh: string };
	/** Lifetime of the refresh cookie (REFRESH_TOKEN_TTL), seconds. */
	refreshMaxAge: number;
	/** Origins whose pages may use the cookies: PUBLIC_URL's, and CORS_ORIGINS' (not "*"). */
	allowedOrigins: ReadonlySet<string>;
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function cookiePolicyFor(options: {
	publicUrl: string;
	corsOrigins: readonly string[];
	refreshMaxAge: number;
	production: boolean;
}): CookiePolicy {
	const url = new URL(options.publicUrl);
	const plainLocal = url.protocol === "http:" && LOCAL_HOSTS.has(url.hostname);
	const allowedOrigins = new Set([url.origin]);
	for (const origin of options.corsOrigins) {
		if (origin !== "*") allowedOrigins.add(origin.replace(/\/+$/, ""));
	}
	const secure = options.production || !plainLocal;
	return {
		secure,
		names: secure
			? {
					access: `__Host-${ACCESS_COOKIE}`,
					refresh: `__Host-${REFRESH_COOKIE}`,
					device: `__Host-${DEVICE_COOKIE}`
				}
			: { access: ACCESS_COOKIE, refresh: REFRESH_COOKIE, device: DEVICE_COOKIE },
		paths: secure ? { access: "/", refresh: "/" } : { access: "/api", refresh: "/api/auth" },
		refreshMaxAge: options.refreshMaxAge,
		allowedOrigins
	};
}

/** The request's cookie of that name, if any. */
export function cookieOf(header: string | undefined, name: string): string | undefined {
	if (!header) return undefined;
	const value = parseCookie(header)[name];
	return value === "" ? undefined : value;
}

/** Set-Cookie values that hold a new pair of tokens. */
export function sessionCookies(
	policy: CookiePolicy,
	tokens: { accessToken: string; refreshToken: string; expiresIn: number }
): string[] {
	const common = { httpOnly: true, secure: policy.secure, sameSite: "lax" as const };
	return [
		stringifySetCookie(policy.names.access, tokens.accessToken, {
			...common,
			path: policy.paths.access,
			maxAge: tokens.expiresIn
		}),
		stringifySetCookie(policy.names.refresh, tokens.refreshToken, {
			...common,
			path: policy.paths.refresh,
			maxAge: policy.refreshMaxAge
		})
	];
}

/** The Set-Cookie value that remembers a device. */
export function deviceCookie(policy: CookiePolicy, deviceToken: string): string {
	return stringifySetCookie(policy.names.device, deviceToken, {
		httpOnly: true,
		secure: policy.secure,
		sameSite: "lax",
		path: policy.paths.refresh,
		maxAge: DEVICE_MAX_AGE
	});
}

/** Set-Cookie values that remove both session cookies (sign-out; the device stays known). */
export function clearedCookies(policy: CookiePolicy): string[] {
	const common = { httpOnly: true, secure: policy.secure, sameSite: "lax" as const, maxAge: 0 };
	return [
		stringifySetCookie(policy.names.access, "", { ...common, path: policy.paths.access }),
		stringifySetCookie(policy.names.refresh, "", { ...common, path: policy.paths.refresh })
	];
}

export interface FetchHeaders {
	origin?: string | string[];
	"sec-fetch-site"?: string | string[];
}

function single(value: string | string[] | undefined): string | undefined {
	return Array.isArray(value) ? value[0] : value;
}

/**
 * Whether a request that a cookie authenticates comes from one of our own pages. Browsers send
 * `Origin` on every POST, PUT and DELETE, and `Sec-Fetch-Site` on every request: an allowed
 * `Origin` passes, and so does `Sec-Fetch-Site: same-origin` (a page under
 * `Referrer-Policy: no-referrer` sends `Origin: null` even to its own origin). A request with
 * neither did not come from a browser page, and is refused too: cookie sessions are for browsers.
 */
export function fromAllowedOrigin(headers: FetchHeaders, policy: CookiePolicy): boolean {
	const origin = single(headers.origin);
	if (origin !== undefined && origin !== "null" && policy.allowedOrigins.has(origin)) return true;
	return single(headers["sec-fetch-site"]) === "same-origin";
}

/**
 * The mail pages' forms hold their token, so no cookie is at stake; still, a page of another site
 * must not post one (spend a link, set a password). `Sec-Fetch-Site` says where a browser's request
 * came from (our pages send `Origin: null`: they are served with `Referrer-Policy: no-referrer`);
 * without it, an `Origin` of another site does. A request with neither did not come from another
 * site's page.
 */
export function crossSiteForm(headers: FetchHeaders, policy: CookiePolicy): boolean {
	const origin = single(headers.origin);
	if (origin !== undefined && origin !== "null" && policy.allowedOrigins.has(origin))
		return false;
	const site = single(headers["sec-fetch-site"]);
	if (site !== undefined) return site !== "same-origin" && site !== "none";
	return origin !== undefined && origin !== "null";
}

/**
 * Whether `url` is `prefix` or under it: the same origin, and the prefix's path up to a segment
 * boundary (`https://app.test/a` allows `/a` and `/a/b`, not `/ab`). Anything unparsable is not.
 */
export function isUnder(url: string, prefix: string): boolean {
	try {
		const target = new URL(url);
		const base = new URL(prefix);
		if (target.origin !== base.origin) return false;
		const path = base.pathname.replace(/\/+$/, "");
		return target.pathname === path || target.pathname.startsWith(`${path}/`) || path === "";
	} catch {
		return false;
	}
}
