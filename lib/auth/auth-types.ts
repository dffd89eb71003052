/**
 * What callers of `auth` see: the caller in `ctx.meta.user`, users, sessions and event payloads.
 * The gateway and the pages import these instead of declaring copies.
 */
/** The signed-in caller, as the gateway (or a calling service) puts it in `ctx.meta.user`. */
export interface AuthUser {
	id: string;
	username: string;
	scopes: string[];
	/** "admin-token": the gateway's ADMIN_TOKEN, on the admin routes only. */
	via: "jwt" | "api-key" | "admin-token";
	/** For an access token: the session it belongs to. */
	session?: string;
}

export interface AuthMeta {
	user?: AuthUser;
	/** The client's address, when the gateway knows it: failed attempts are also limited per address. */
	ip?: string;
	/** The client's User-Agent header, cut to 200 characters (shown in the sessions list). */
	userAgent?: string;
}

/** What callers see of a user: never the password hash. */
export interface PublicUser {
	id: string;
	username: string;
	email: string;
	emailVerified: boolean;
	createdAt: string;
	updatedAt: string;
}

export interface SessionTokens {
	accessToken: string;
	refreshToken: string;
	tokenType: "Bearer";
	/** Seconds until the access token expires. */
	expiresIn: number;
}

export interface SignInResult extends SessionTokens {
	user: PublicUser;
}

export interface ResolvedUser {
	user: AuthUser;
	/** What `me` shows for this user: the gateway answers GET /api/me with it, without a second call. */
	profile: PublicUser;
	/** An API key's nearest rate limit, for the X-RateLimit-* headers (reset: epoch seconds). */
	rateLimit?: { limit: number; remaining: number; reset: number };
}

/** Event payloads: ids, never a password, token or link. */
export interface UserEventPayload {
	userId: string;
}

/** A sign-in's second step: the challenge the next request answers (devices, TOTP). */
export interface Challenge {
	verificationRequired?: true;
	mfaRequired?: true;
	challenge: string;
	/** With mfaRequired: what may answer it ("totp", "recoveryCode", "passkey"). */
	methods?: string[];
}

/** What a first sign-in step answers: a session, or a challenge for the second step. */
export type SignInAnswer = SignInResult | Challenge;

/** RFC 7662: what a live token is; `{ active: false }` for any other. */
export interface Introspection {
	active: boolean;
	sub?: string;
	scope?: string;
	exp?: number;
	iat?: number;
	token_type?: "access_token" | "refresh_token" | "api_key";
	client_id?: string;
}
