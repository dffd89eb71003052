/**
 * Short-lived access tokens: JWTs (jose) carrying the standard claims sub, iat, exp, iss, aud and
 * jti, the session (`sid`) and the scopes at issue (`scope`). Signed with EdDSA or ES256 under the
 * key ring (lib/auth/key-ring, `kid` in the header, public keys in the JWKS) or with HS256 under
 * JWT_SECRET; HS256 tokens verify under either setting, so a deployment moves to EdDSA without
 * signing anyone out. `auth` still looks the subject up when it resolves a token (revocation, the
 * current scopes); services verifying locally (mixins/jwt-verifier) rely on the claims.
 *
 * The header's `typ` is "at+jwt" (RFC 9068) and verification insists on it, so no other JWT signed
 * with the same secret (an ID token, a link) is accepted as an access token.
 *
 * The gateway resolves the caller's JWT on every request, and jose's verification (WebCrypto) costs
 * 70-90 µs here: tokens that verified are remembered by their SHA-256 digest (never the token
 * itself) with their claims, until they expire. Verification is a pure function of the token, the
 * key and the clock, so the remembered answer is the answer; failures are never remembered.
 */
import { createHash, randomUUID, webcrypto, type KeyObject } from "node:crypto";
import { SignJWT, decodeProtectedHeader, jwtVerify } from "jose";
import type { KeyRing } from "./key-ring";
import type { JwtAlgorithm } from "./signing-keys";

export const ACCESS_TOKEN_TYPE = "at+jwt";
const HMAC = "HS256";

export interface AccessTokenOptions {
	/** At least 32 characters (lib/config/secrets enforces it in production). */
	secret: string;
	issuer: string;
	audience: string;
	/** Lifetime in seconds. */
	ttl: number;
	/** Epoch milliseconds; injectable for tests. */
	now?: () => number;
	/** What new tokens are signed with (default HS256); EdDSA and ES256 need `keys`. */
	algorithm?: JwtAlgorithm;
	keys?: Pick<KeyRing, "signingKey" | "verificationKey">;
}

export interface IssuedAccessToken {
	token: string;
	/** Seconds until it expires (the OAuth `expires_in`). */
	expiresIn: number;
	jti: string;
	/** Epoch seconds. */
	issuedAt: number;
	expiresAt: number;
}

export interface AccessTokenClaims {
	sub: string;
	jti: string;
	/** The session (refresh-token family) it was issued in; refused once that session ends. */
	sid?: string;
	/** A service-API token's scopes, space-separated (RFC 8693 §4.2); users' tokens have none. */
	scope?: string;
	/** Epoch seconds. */
	iat: number;
	exp: number;
}

/**
 * Seconds a token's `iat` may lie ahead of this node's clock: the clocks of auth nodes differ a
 * little, and a token issued right after "sign out everywhere" carries the cut-off second. A later
 * `iat` would survive the next cut-off, so such a token is refused.
 */
export const MAX_CLOCK_SKEW = 5;

/** Verified tokens remembered at most; the memo is emptied when full, so it never grows past it. */
const MAX_REMEMBERED = 10_000;

export class AccessTokens {
	/** Imported once: jose would import a raw key again on every call. */
	private readonly key: Promise<webcrypto.CryptoKey>;
	private readonly now: () => number;
	private verified = new Map<string, AccessTokenClaims>();

	constructor(private readonly options: AccessTokenOptions) {
		if (!options.secret) throw new Error("AccessTokens: a secret is required");
		if (!Number.isInteger(options.ttl) || options.ttl <= 0) {
			throw new Error("AccessTokens: ttl must be a positive whole number of seconds");
		}
		this.key = webcrypto.subtle.importKey(
			"raw",
			new TextEncoder().encode(options.secret),
			{ name: "HMAC", hash: "SHA-256" },
			false,
			["sign", "verify"]
		);
		this.now = options.now ?? (() => Date.now());
	}

	/**
	 * Signs an access token for `subject`. `notIssuedBefore` (epoch seconds) moves `iat` forward to
	 * it when the clock is behind it: after "sign out everywhere" rejects tokens issued up to the end
	 * of the current second, a sign-in within that same second must still get a token that works.
	 */
	async issue(
		subject: string,
		notIssuedBefore = 0,
		session?: string,
		scopes?: readonly string[]
	): Promise<IssuedAccessToken> {
		const issuedAt = Math.max(Math.floor(this.now() / 1000), notIssuedBefore);
		const expiresAt = issuedAt + this.options.ttl;
		const jti = randomUUID();
		const claims: Record<string, string> = {};
		if (session !== undefined) claims.sid = session;
		if (scopes !== undefined) claims.scope = scopes.join(" ");
		const jwt = new SignJWT(claims)
			.setSubject(subject)
			.setIssuer(this.options.issuer)
			.setAudience(this.options.audience)
			.setIssuedAt(issuedAt)
			.setExpirationTime(expiresAt)
			.setJti(jti);
		let token: string;
		if ((this.options.algorithm ?? HMAC) === HMAC) {
			token = await jwt
				.setProtectedHeader({ alg: HMAC, typ: ACCESS_TOKEN_TYPE })
				.sign(await this.key);
		} else {
			const signing = await this.options.keys!.signingKey();
			token = await jwt
				.setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: ACCESS_TOKEN_TYPE })
				.sign(signing.key);
		}
		return {
			token,
			expiresIn: expiresAt - Math.floor(this.now() / 1000),
			jti,
			issuedAt,
			expiresAt
		};
	}

	/** The claims of a valid, unexpired access token of ours; null for anything else. */
	async verify(token: string): Promise<AccessTokenClaims | null> {
		const digest = createHash("sha256").update(token).digest("base64");
		const remembered = this.verified.get(digest);
		if (remembered) {
			// As jose decides it: expired once `exp` is not after the current second.
			if (remembered.exp > Math.floor(this.now() / 1000)) return { ...remembered };
			this.verified.delete(digest);
			return null;
		}
		const claims = await this.verifyWithJose(token);
		if (claims) {
			if (this.verified.size >= MAX_REMEMBERED) this.verified = new Map();
			this.verified.set(digest, claims);
		}
		return claims && { ...claims };
	}

	private async verifyWithJose(token: string): Promise<AccessTokenClaims | null> {
		try {
			const header = decodeProtectedHeader(token);
			let key: webcrypto.CryptoKey | KeyObject = await this.key;
			let algorithm = HMAC;
			if (header.alg !== HMAC) {
				const found =
					typeof header.kid === "string" && this.options.keys
						? await this.options.keys.verificationKey(header.kid)
						: null;
				if (!found || found.alg !== header.alg) return null;
				key = found.key;
				algorithm = found.alg;
			}
			const { payload } = await jwtVerify(token, key, {
				algorithms: [algorithm],
				typ: ACCESS_TOKEN_TYPE,
				issuer: this.options.issuer,
				audience: this.options.audience,
				requiredClaims: ["sub", "iat", "exp", "jti"],
				currentDate: new Date(this.now())
			});
			const { sub, jti, iat, exp, sid, scope } = payload;
			if (
				(sid !== undefined && typeof sid !== "string") ||
				(scope !== undefined && typeof scope !== "string") ||
				typeof sub !== "string" ||
				typeof jti !== "string" ||
				typeof iat !== "number" ||
				typeof exp !== "number" ||
				iat > Math.floor(this.now() / 1000) + MAX_CLOCK_SKEW
			) {
				return null;
			}
			const claims: AccessTokenClaims = { sub, jti, iat, exp };
			if (typeof sid === "string") claims.sid = sid;
			if (typeof scope === "string") claims.scope = scope;
			return claims;
		} catch {
			return null;
		}
	}
}

/**
 * The new `tokensValidAfter` (epoch ms) that rejects every access token issued so far. JWT times
 * are whole seconds, and a token issued within the second of an earlier cut-off carries that
 * cut-off as its `iat` (see AccessTokens.issue), so the new one is past both the current second
 * and the previous cut-off.
 */
export function nextTokensCutoff(previousCutoff: number, now: number): number {
	return Math.max((Math.floor(now / 1000) + 1) * 1000, previousCutoff + 1000);
}
