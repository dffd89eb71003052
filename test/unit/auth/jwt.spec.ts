import { SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
import { AccessTokens, MAX_CLOCK_SKEW, nextTokensCutoff } from "../../../lib/auth/jwt";

const SECRET = "a-test-secret-that-is-long-enough-0123456789";
const T0 = Date.parse("2030-01-01T00:00:00.250Z");

function issuer(
	now: () => number,
	overrides: Partial<ConstructorParameters<typeof AccessTokens>[0]> = {}
) {
	return new AccessTokens({
		secret: SECRET,
		issuer: "moleculer-tokens",
		audience: "api",
		ttl: 900,
		now,
		...overrides
	});
}

describe("access tokens (JWT)", () => {
	it("carries exactly sub, iat, exp, iss, aud and jti, typed at+jwt, signed HS256", async () => {
		const issued = await issuer(() => T0).issue("user-1");
		expect(decodeProtectedHeader(issued.token)).toEqual({ alg: "HS256", typ: "at+jwt" });
		const claims = decodeJwt(issued.token);
		expect(Object.keys(claims).sort()).toEqual(["aud", "exp", "iat", "iss", "jti", "sub"]);
		expect(claims).toMatchObject({
			sub: "user-1",
			iss: "moleculer-tokens",
			aud: "api",
			iat: Math.floor(T0 / 1000),
			exp: Math.floor(T0 / 1000) + 900,
			jti: issued.jti
		});
		expect(issued.expiresIn).toBe(900);
	});

	it("gives every token its own jti", async () => {
		const tokens = issuer(() => T0);
		const a = await tokens.issue("u");
		const b = await tokens.issue("u");
		expect(a.jti).not.toBe(b.jti);
	});

	it("verifies its own tokens until they expire", async () => {
		let now = T0;
		const tokens = issuer(() => now);
		const { token } = await tokens.issue("user-1");
		expect(await tokens.verify(token)).toMatchObject({ sub: "user-1" });
		now = T0 + 899_000;
		expect(await tokens.verify(token)).not.toBeNull();
		now = Math.floor(T0 / 1000) * 1000 + 900_000;
		expect(await tokens.verify(token)).toBeNull();
	});

	it("answers a remembered token as jose would: same claims, refused from its expiry on", async () => {
		let now = T0;
		const tokens = issuer(() => now);
		const { token } = await tokens.issue("user-1");
		const first = await tokens.verify(token);
		expect(first).toMatchObject({ sub: "user-1" });
		// Changing an answer changes nothing remembered.
		first!.sub = "mallory";
		expect(await tokens.verify(token)).toMatchObject({ sub: "user-1" });
		now = Math.floor(T0 / 1000) * 1000 + 899_999;
		expect(await tokens.verify(token)).toMatchObject({ sub: "user-1" });
		now += 1;
		expect(await tokens.verify(token)).toBeNull();
		// And a fresh instance (nothing remembered) agrees.
		expect(await issuer(() => now).verify(token)).toBeNull();
	});

	it("never takes a token for one it remembers because they look alike", async () => {
		const tokens = issuer(() => T0);
		const { token } = await tokens.issue("user-1");
		expect(await tokens.verify(token)).not.toBeNull();
		const [header, payload, signature] = token.split(".");
		// A character inside the signature (the last one also holds padding bits).
		const flipped = signature[10] === "A" ? "B" : "A";
		const tampered = `${header}.${payload}.${signature.slice(0, 10)}${flipped}${signature.slice(11)}`;
		expect(await tokens.verify(tampered)).toBeNull();
		const otherPayload = Buffer.from(
			JSON.stringify({ ...decodeJwt(token), sub: "user-2" })
		).toString("base64url");
		expect(await tokens.verify(`${header}.${otherPayload}.${signature}`)).toBeNull();
		expect(payload).not.toBe(otherPayload);
	});

	it("moves iat forward to notIssuedBefore when the clock is behind it", async () => {
		const tokens = issuer(() => T0);
		const after = Math.floor(T0 / 1000) + 1;
		const issued = await tokens.issue("user-1", after);
		expect(issued.issuedAt).toBe(after);
		expect(decodeJwt(issued.token).iat).toBe(after);
		expect(await tokens.verify(issued.token)).toMatchObject({ iat: after });
	});

	it("refuses a token whose iat is ahead of the clock by more than the allowed skew", async () => {
		const now = Math.floor(T0 / 1000);
		const key = new TextEncoder().encode(SECRET);
		const signed = (iat: number) =>
			new SignJWT({})
				.setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
				.setSubject("user-1")
				.setIssuer("moleculer-tokens")
				.setAudience("api")
				.setIssuedAt(iat)
				.setExpirationTime(iat + 900)
				.setJti("j")
				.sign(key);
		const tokens = issuer(() => T0);
		expect(await tokens.verify(await signed(now + MAX_CLOCK_SKEW))).toMatchObject({
			sub: "user-1"
		});
		expect(await tokens.verify(await signed(now + MAX_CLOCK_SKEW + 1))).toBeNull();
		expect(await tokens.verify(await signed(now + 86400))).toBeNull();
	});

	it.each([
		["another secret", { secret: "another-secret-that-is-long-enough-9876543210" }],
		["another issuer", { issuer: "someone-else" }],
		["another audience", { audience: "other-api" }]
	])("rejects a token made with %s", async (_label, overrides) => {
		const foreign = await issuer(() => T0, overrides).issue("user-1");
		expect(await issuer(() => T0).verify(foreign.token)).toBeNull();
	});

	it("rejects a JWT that is not an access token (no at+jwt type)", async () => {
		const key = new TextEncoder().encode(SECRET);
		const idToken = await new SignJWT({})
			.setProtectedHeader({ alg: "HS256" })
			.setSubject("user-1")
			.setIssuer("moleculer-tokens")
			.setAudience("api")
			.setIssuedAt(Math.floor(T0 / 1000))
			.setExpirationTime(Math.floor(T0 / 1000) + 60)
			.setJti("x")
			.sign(key);
		expect(await issuer(() => T0).verify(idToken)).toBeNull();
	});

	it("rejects a token without a jti", async () => {
		const key = new TextEncoder().encode(SECRET);
		const token = await new SignJWT({})
			.setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
			.setSubject("user-1")
			.setIssuer("moleculer-tokens")
			.setAudience("api")
			.setIssuedAt(Math.floor(T0 / 1000))
			.setExpirationTime(Math.floor(T0 / 1000) + 60)
			.sign(key);
		expect(await issuer(() => T0).verify(token)).toBeNull();
	});

	it("rejects alg none, tampered payloads and garbage", async () => {
		const tokens = issuer(() => T0);
		const { token } = await tokens.issue("user-1");
		const [header, payload, signature] = token.split(".");
		const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
		const claims = decodeJwt(token);
		const none = `${b64({ alg: "none", typ: "at+jwt" })}.${payload}.`;
		const tampered = `${header}.${b64({ ...claims, sub: "admin" })}.${signature}`;
		for (const bad of [none, tampered, "", "not-a-jwt", "a.b.c", token + "x"]) {
			expect(await tokens.verify(bad)).toBeNull();
		}
	});

	it("refuses to start without a secret or with a bad lifetime", () => {
		expect(() => issuer(() => T0, { secret: "" })).toThrow(/secret/);
		expect(() => issuer(() => T0, { ttl: 0 })).toThrow(/ttl/);
		expect(() => issuer(() => T0, { ttl: 1.5 })).toThrow(/ttl/);
	});
});

describe("nextTokensCutoff", () => {
	it("is past the current second", () => {
		expect(nextTokensCutoff(0, Date.parse("2030-01-01T00:00:00.250Z"))).toBe(
			Date.parse("2030-01-01T00:00:01.000Z")
		);
	});

	it("is past the previous cut-off, even within the same second", () => {
		const now = Date.parse("2030-01-01T00:00:00.250Z");
		const first = nextTokensCutoff(0, now);
		expect(nextTokensCutoff(first, now)).toBe(first + 1000);
	});
});
