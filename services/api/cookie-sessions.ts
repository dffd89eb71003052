/**
 * Cookie sessions at the gateway (lib/http/session-cookies): `"cookie": true` in the body of a
 * sign-in, magic-link sign-in or refresh sets the tokens as cookies and leaves them out of the
 * answer; refresh and sign-out read the refresh cookie when the body names no token; sign-out
 * clears both. Every request a cookie takes part in must come from an allowed origin.
 */
import { Errors, type Context } from "moleculer";
import type { GatewayResponse, IncomingRequest } from "moleculer-web";
import {
	COOKIE_ACTIONS,
	READS_REFRESH_COOKIE,
	clearedCookies,
	deviceCookie,
	cookieOf,
	fromAllowedOrigin,
	sessionCookies
} from "../../lib/http/session-cookies";
import type { ApiThis, CallerLocals } from "./gateway-internals";
import { fieldError } from "../../lib/broker/field-error";

export function crossSiteRefused(): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError(
		"Cookie-authenticated requests must come from an allowed origin.",
		403,
		"CROSS_SITE_REQUEST"
	);
}

/** Before an /api/auth call: take `cookie` out of the body, fill in the refresh cookie. */
export function beforeAuthCall(
	this: ApiThis,
	ctx: Context,
	_route: unknown,
	req: IncomingRequest
): void {
	const action = req.$alias?.action;
	if (typeof action !== "string" || !COOKIE_ACTIONS.has(action)) return;
	const params = req.$params as Record<string, unknown>;
	let cookies = false;
	if ("cookie" in params) {
		if (typeof params.cookie !== "boolean")
			throw fieldError("cookie", "boolean", "The 'cookie' field must be a boolean.");
		cookies = params.cookie;
		delete params.cookie;
	}
	if (action === "auth.signIn" && params.deviceToken === undefined) {
		const device = cookieOf(req.headers.cookie, this.cookiePolicy.names.device);
		if (device !== undefined) params.deviceToken = device;
	}
	if (READS_REFRESH_COOKIE.has(action) && params.refreshToken === undefined) {
		const fromCookie = cookieOf(req.headers.cookie, this.cookiePolicy.names.refresh);
		if (fromCookie !== undefined) {
			params.refreshToken = fromCookie;
			cookies = true;
		}
	}
	if (!cookies) return;
	if (!fromAllowedOrigin(req.headers, this.cookiePolicy)) throw crossSiteRefused();
	(ctx.locals as CallerLocals).cookieSession = true;
}

/** After an /api/auth call that uses cookies: the tokens go into them, not into the body. */
export function afterAuthCall(
	this: ApiThis,
	ctx: Context,
	req: IncomingRequest,
	res: GatewayResponse,
	data: unknown
): unknown {
	if (!(ctx.locals as CallerLocals).cookieSession) return data;
	if (req.$alias?.action === "auth.signOut") {
		res.setHeader("Set-Cookie", clearedCookies(this.cookiePolicy));
		return data;
	}
	const answer = data as Record<string, unknown> | null;
	if (
		!answer ||
		typeof answer.accessToken !== "string" ||
		typeof answer.refreshToken !== "string"
	) {
		return data; // e.g. a second factor is still needed: nothing to keep yet
	}
	const cookies = sessionCookies(this.cookiePolicy, {
		accessToken: answer.accessToken,
		refreshToken: answer.refreshToken,
		expiresIn: Number(answer.expiresIn)
	});
	if (typeof answer.deviceToken === "string") {
		cookies.push(deviceCookie(this.cookiePolicy, answer.deviceToken));
	}
	res.setHeader("Set-Cookie", cookies);
	const { accessToken: _access, refreshToken: _refresh, deviceToken: _device, ...rest } = answer;
	return rest;
}
