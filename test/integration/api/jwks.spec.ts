/**
 * Asymmetric access tokens through the gateway: EdDSA by default, the JWKS at
 * /.well-known/jwks.json (cacheable, public parts only), rotation with auth.rotateSigningKey, and
 * tokens naming an unknown key refused.
 */
import { generateKeyPairSync } from "node:crypto";
import { SignJWT, decodeProtectedHeader } from "jose";
import { authService } from "../../helpers/auth";
import { signUpUsers, startGateway, type TestGateway } from "../../helpers/gateway";
import { postJson, request } from "../../helpers/http";

describe("JWKS and signing-key rotation", () => {
	let gw: TestGateway;
	const password = "a long enough password";
	const api = (path: string) => `${gw.url}${path}`;
	const me = (token: string) =>
		request(api("/api/me"), { headers: { authorization: `Bearer ${token}` } });
	const signIn = async () =>
		(await postJson(api("/api/auth/sign-in"), { login: "joan", password })).body as {
			accessToken: string;
		};

	beforeAll(async () => {
		gw = await startGateway({
			services: [authService({ requireVerifiedEmail: false })],
			settings: { jwksMaxAge: 120 }
		});
		await signUpUsers(gw, ["joan"], password);
	});
	afterAll(() => gw.stop());

	it("signs with EdDSA under a published key, served cacheable with public parts only", async () => {
		const { accessToken } = await signIn();
		const header = decodeProtectedHeader(accessToken);
		expect(header).toMatchObject({ alg: "EdDSA", typ: "at+jwt", kid: expect.any(String) });
		const res = await request(api("/.well-known/jwks.json"));
		expect(res.status).toBe(200);
		expect(res.headers.get("cache-control")).toBe("public, max-age=120");
		expect(res.headers.get("content-type")).toContain("application/jwk-set+json");
		const { keys } = JSON.parse(res.text) as { keys: Record<string, string>[] };
		expect(keys.map(k => k.kid)).toContain(header.kid);
		for (const k of keys) {
			expect(k).not.toHaveProperty("d");
			expect(k).toMatchObject({ kty: "OKP", crv: "Ed25519", use: "sig", alg: "EdDSA" });
		}
	});

	it("keeps a token of the old key working after a rotation; new tokens name the new key", async () => {
		const before = await signIn();
		const oldKid = decodeProtectedHeader(before.accessToken).kid;
		const rotated = await gw.broker.call<{ kid: string }, object>("auth.rotateSigningKey", {
			publishDelay: 0
		});
		expect(rotated.kid).not.toBe(oldKid);
		const after = await signIn();
		expect(decodeProtectedHeader(after.accessToken).kid).toBe(rotated.kid);
		expect((await me(before.accessToken)).status).toBe(200);
		expect((await me(after.accessToken)).status).toBe(200);
		const states = await gw.broker.call<{ kid: string; status: string }[]>("auth.signingKeys");
		expect(states.find(k => k.kid === oldKid)?.status).toBe("retired");
		expect(states.find(k => k.kid === rotated.kid)?.status).toBe("current");
		const { keys } = JSON.parse((await request(api("/.well-known/jwks.json"))).text) as {
			keys: { kid: string }[];
		};
		expect(keys.map(k => k.kid)).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
	});

	it("refuses a token that names an unknown key, or a known kid with another key", async () => {
		const { privateKey } = generateKeyPairSync("ed25519");
		const { accessToken } = await signIn();
		const { kid } = decodeProtectedHeader(accessToken);
		const sub = (
			JSON.parse(Buffer.from(accessToken.split(".")[1], "base64url").toString()) as {
				sub: string;
			}
		).sub;
		for (const claimedKid of ["not-a-key-of-ours", kid!]) {
			const forged = await new SignJWT({})
				.setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: claimedKid })
				.setSubject(sub)
				.setIssuer("moleculer-tokens")
				.setAudience("moleculer-tokens")
				.setIssuedAt()
				.setExpirationTime("5m")
				.setJti("x")
				.sign(privateKey);
			expect((await me(forged)).status).toBe(401);
		}
	});
});
