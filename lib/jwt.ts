/**
 * Short-lived access tokens: JWTs signed with HS256 (jose) carrying only the standard claims sub,
 * iat, exp, iss, aud and jti. Who the subject is (name, scopes, whether their tokens were revoked) is
 * looked up when a token is resolved, so a JWT never goes stale on anything but its lifetime.
 *
 * The header's `typ` is "at+jwt" (RFC 9068) and verification insists on it, so no other JWT signed
 * with the same secret (an ID token, a link) is accepted as an access token.
 */
import { randomUUID } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";

export const ACCESS_TOKEN_TYPE = "at+jwt";
const ALGORITHM = "HS256";

export interface AccessTokenOptions {
	/** At least 32 characters (lib/secrets enforces it in production). */
	secret: string;
	issuer: string;
	audience: string;
	/** Lifetime in seconds. */
	ttl: number;
	/** Epoch milliseconds; injectable for tests. */
	now?: () => number;
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
	/** Epoch seconds. */
	iat: number;
	exp: number;
}

export class AccessTokens {
	private readonly key: Uint8Array;
	private readonly now: () => number;

	constructor(private readonly options: AccessTokenOptions) {
		if (!options.secret) throw new Error("AccessTokens: a secret is required");
		if (!Number.isInteger(options.ttl) || options.ttl <= 0) {
			throw new Error("AccessTokens: ttl must be a positive whole number of seconds");
		}
		this.key = new TextEncoder().encode(options.secret);
		this.now = options.now ?? (() => Date.now());
	}

	/**
	 * Signs an access token for `subject`. `notIssuedBefore` (epoch seconds) moves `iat` forward to
	 * it when the clock is behind it: after "sign out everywhere" rejects tokens issued up to the end
	 * of the current second, a sign-in within that same second must still get a token that works.
	 */
	async issue(subject: string, notIssuedBefore = 0): Promise<IssuedAccessToken> {
		const issuedAt = Math.max(Math.floor(this.now() / 1000), notIssuedBefore);
		const expiresAt = issuedAt + this.options.ttl;
		const jti = randomUUID();
		const token = await new SignJWT({})
			.setProtectedHeader({ alg: ALGORITHM, typ: ACCESS_TOKEN_TYPE })
			.setSubject(subject)
			.setIssuer(this.options.issuer)
			.setAudience(this.options.audience)
			.setIssuedAt(issuedAt)
			.setExpirationTime(expiresAt)
			.setJti(jti)
			.sign(this.key);
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
		try {
			const { payload } = await jwtVerify(token, this.key, {
				algorithms: [ALGORITHM],
				typ: ACCESS_TOKEN_TYPE,
				issuer: this.options.issuer,
				audience: this.options.audience,
				requiredClaims: ["sub", "iat", "exp", "jti"],
				currentDate: new Date(this.now())
			});
			const { sub, jti, iat, exp } = payload;
			if (
				typeof sub !== "string" ||
				typeof jti !== "string" ||
				typeof iat !== "number" ||
				typeof exp !== "number"
			) {
				return null;
			}
			return { sub, jti, iat, exp };
		} catch {
			return null;
		}
	}
}
