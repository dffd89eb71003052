/**
 * RFC 7662 introspection and RFC 7009 revocation over REST, form-encoded: what each of our tokens
 * is while it lives, `{ active: false }` and nothing more for anything else, introspection only for
 * ADMIN_TOKEN or a key with the `introspect` scope, and revocation for whoever holds a token.
 */
import { authService } from "../../helpers/auth";
import { startGateway, TEST_ADMIN_TOKEN, type TestGateway } from "../../helpers/gateway";
import { postJson, request } from "../../helpers/http";

interface Session {
	accessToken: string;
	refreshToken: string;
	user: { id: string };
}

describe("OAuth 2.0 introspection and revocation", () => {
	let gw: TestGateway;
	const password = "a long enough password";
	const api = (path: string) => `${gw.url}${path}`;
	const form = (
		path: string,
		fields: Record<string, string>,
		headers: Record<string, string> = {}
	) =>
		request(api(path), {
			method: "POST",
			headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
			body: new URLSearchParams(fields).toString()
		});
	const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
	const introspect = (token: string, headers = admin) =>
		form("/oauth2/introspect", { token }, headers);
	const signIn = async () =>
		(await postJson(api("/api/auth/sign-in"), { login: "ivy", password })).body as Session;
	const keyWith = async (scopes: string[]) => {
		const s = await signIn();
		const res = await postJson(
			api("/api/me/api-keys"),
			{ name: `k-${scopes.join("-") || "none"}`, scopes },
			{ authorization: `Bearer ${s.accessToken}` }
		);
		return res.body as { token: string; key: { id: string } };
	};

	beforeAll(async () => {
		gw = await startGateway({
			services: [authService({ requireVerifiedEmail: false })],
			settings: { rateLimit: { window: 60, public: 1000, user: 1000, admin: 1000 } }
		});
		const { user } = await gw.broker.call<{ user: { id: string } }, object>("auth.signUp", {
			username: "ivy",
			email: "ivy@example.com",
			password
		});
		await gw.broker.call("auth.setUserScopes", {
			userId: user.id,
			scopes: ["introspect", "read"]
		});
	});
	afterAll(() => gw.stop());

	it("describes a live access token, refresh token and API key", async () => {
		const s = await signIn();
		const access = await introspect(s.accessToken);
		expect(access.status).toBe(200);
		expect(access.body).toEqual({
			active: true,
			sub: s.user.id,
			scope: "introspect read",
			exp: expect.any(Number),
			iat: expect.any(Number),
			token_type: "access_token"
		});
		const refresh = (await introspect(s.refreshToken)).body as Record<string, unknown>;
		expect(refresh).toMatchObject({
			active: true,
			sub: s.user.id,
			token_type: "refresh_token"
		});
		expect(refresh.exp as number).toBeGreaterThan(Date.now() / 1000 + 86400);
		const key = await keyWith(["read"]);
		expect((await introspect(key.token)).body).toEqual({
			active: true,
			sub: s.user.id,
			scope: "read",
			iat: expect.any(Number),
			token_type: "api_key",
			client_id: key.key.id
		});
	});

	it("answers exactly { active: false } for anything else", async () => {
		const s = await signIn();
		const rotated = s.refreshToken;
		await postJson(api("/api/auth/refresh"), { refreshToken: rotated });
		const ended = await signIn();
		await postJson(api("/api/auth/sign-out"), { refreshToken: ended.refreshToken });
		for (const token of [
			"garbage",
			"mtk_notakey",
			rotated,
			ended.accessToken,
			ended.refreshToken,
			s.accessToken.slice(0, -2) + "xx"
		]) {
			const res = await introspect(token);
			expect({ token: token.slice(0, 12), body: res.body }).toEqual({
				token: token.slice(0, 12),
				body: { active: false }
			});
		}
	});

	it("lets only ADMIN_TOKEN or a key with the introspect scope introspect", async () => {
		const s = await signIn();
		const allowed = await keyWith(["introspect"]);
		const other = await keyWith(["read"]);
		expect(
			(await introspect(s.accessToken, { authorization: `Bearer ${allowed.token}` })).body
		).toMatchObject({
			active: true
		});
		expect(
			(await introspect(s.accessToken, { authorization: `Bearer ${other.token}` })).status
		).toBe(403);
		expect(
			(await introspect(s.accessToken, { authorization: `Bearer ${s.accessToken}` })).status
		).toBe(403);
		expect((await introspect(s.accessToken, {} as typeof admin)).status).toBe(401);
	});

	it("revokes what a token grants, answering 200 whatever the token", async () => {
		const a = await signIn();
		expect((await form("/oauth2/revoke", { token: a.refreshToken })).status).toBe(200);
		expect(
			(await postJson(api("/api/auth/refresh"), { refreshToken: a.refreshToken })).status
		).toBe(401);
		// The access token's session ends with it.
		expect((await introspect(a.accessToken)).body).toEqual({ active: false });

		const b = await signIn();
		expect(
			(
				await form("/oauth2/revoke", {
					token: b.accessToken,
					token_type_hint: "access_token"
				})
			).status
		).toBe(200);
		expect(
			(
				await request(api("/api/me"), {
					headers: { authorization: `Bearer ${b.accessToken}` }
				})
			).status
		).toBe(401);

		const key = await keyWith([]);
		expect((await form("/oauth2/revoke", { token: key.token })).status).toBe(200);
		expect(
			(await request(api("/api/me"), { headers: { "x-api-key": key.token } })).status
		).toBe(401);

		for (const token of ["garbage", "mtf_unknown", "eyJ.x.y"]) {
			expect((await form("/oauth2/revoke", { token })).status).toBe(200);
		}
		const missing = await form("/oauth2/revoke", {});
		expect(missing.status).toBe(422);
		expect(JSON.stringify(missing.body)).toContain('"field":"token"');
		const badHint = await form("/oauth2/revoke", { token: "x", token_type_hint: "nope" });
		expect(JSON.stringify(badHint.body)).toContain('"field":"token_type_hint"');
	});
});
