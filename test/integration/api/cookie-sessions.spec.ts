/**
 * Cookie sessions over REST: `"cookie": true` sets HttpOnly cookies instead of returning the
 * tokens, /api/me authenticates with the access cookie, refresh and sign-out read the refresh
 * cookie, sign-out clears both, and a request from another origin that a cookie would authenticate
 * is refused (403 CROSS_SITE_REQUEST), as is a cross-site form on the mail pages.
 */
import { parseSetCookie } from "cookie";
import { authService } from "../../helpers/auth";
import { signUpUsers, startGateway, type TestGateway } from "../../helpers/gateway";
import { postJson, request } from "../../helpers/http";
// Over https-like PUBLIC_URLs the cookies are __Host- cookies on Path=/.
const ACCESS_COOKIE = "__Host-mtk_access";
const REFRESH_COOKIE = "__Host-mtk_refresh";

const ORIGIN = "https://app.example";

describe("cookie sessions over REST", () => {
	let gw: TestGateway;
	const password = "a long enough password";
	const api = (path: string) => `${gw.url}${path}`;
	const same = { origin: ORIGIN };

	beforeAll(async () => {
		gw = await startGateway({
			settings: { publicUrl: ORIGIN, refreshCookieMaxAge: 3600 },
			services: [authService({ requireVerifiedEmail: false })]
		});
		await signUpUsers(gw, ["cora", "dev"], password);
	});
	afterAll(() => gw.stop());

	/** The cookies a response sets, by name, with their attributes. */
	const setCookies = (headers: Headers) =>
		new Map(headers.getSetCookie().map(c => [parseSetCookie(c).name, parseSetCookie(c)]));
	const jar = (cookies: Map<string, { value?: string }>) =>
		[...cookies].map(([name, c]) => `${name}=${c.value}`).join("; ");

	const signInWithCookies = async (login: string) => {
		const res = await postJson(
			api("/api/auth/sign-in"),
			{ login, password, cookie: true },
			same
		);
		expect(res.status).toBe(200);
		return { res, cookies: setCookies(res.headers) };
	};

	it("signs in into HttpOnly cookies, leaving the tokens out of the answer", async () => {
		const { res, cookies } = await signInWithCookies("cora");
		const body = res.body as Record<string, unknown>;
		expect(body).not.toHaveProperty("accessToken");
		expect(body).not.toHaveProperty("refreshToken");
		expect(body).toMatchObject({ tokenType: "Bearer", user: { username: "cora" } });
		const access = cookies.get(ACCESS_COOKIE)!;
		const refresh = cookies.get(REFRESH_COOKIE)!;
		for (const c of [access, refresh]) {
			expect(c).toMatchObject({ httpOnly: true, secure: true, sameSite: "lax" });
			expect(c.value).toMatch(/\S{20,}/);
		}
		expect(access.path).toBe("/");
		expect(access.maxAge).toBe(body.expiresIn);
		expect(refresh.path).toBe("/");
		expect(refresh.maxAge).toBe(3600);

		const me = await request(api("/api/me"), { headers: { cookie: jar(cookies) } });
		expect(me.status).toBe(200);
		expect(me.body).toMatchObject({ username: "cora" });
	});

	it("refreshes from the refresh cookie, and signs out clearing both cookies", async () => {
		const { cookies } = await signInWithCookies("cora");
		const refreshed = await postJson(
			api("/api/auth/refresh"),
			{},
			{ ...same, cookie: jar(cookies) }
		);
		expect(refreshed.status).toBe(200);
		expect(refreshed.body).not.toHaveProperty("refreshToken");
		const next = setCookies(refreshed.headers);
		expect(next.get(REFRESH_COOKIE)!.value).not.toBe(cookies.get(REFRESH_COOKIE)!.value);

		const out = await postJson(api("/api/auth/sign-out"), {}, { ...same, cookie: jar(next) });
		expect(out.status).toBe(200);
		const cleared = setCookies(out.headers);
		expect(cleared.get(ACCESS_COOKIE)).toMatchObject({ value: "", maxAge: 0, path: "/" });
		expect(cleared.get(REFRESH_COOKIE)).toMatchObject({ value: "", maxAge: 0, path: "/" });
		// The session ended: its cookies no longer work.
		const me = await request(api("/api/me"), { headers: { cookie: jar(next) } });
		expect(me.status).toBe(401);
		const again = await postJson(api("/api/auth/refresh"), {}, { ...same, cookie: jar(next) });
		expect(again.status).toBe(401);
	});

	it("refuses a cookie-authenticated change from another origin or from no page at all", async () => {
		const { cookies } = await signInWithCookies("dev");
		const attempts: Record<string, string>[] = [
			{ origin: "https://evil.example" },
			{ origin: "null" },
			{ "sec-fetch-site": "same-site" },
			{}
		];
		for (const headers of attempts) {
			const res = await request(api("/api/me/sign-out-everywhere"), {
				method: "POST",
				headers: {
					...headers,
					cookie: jar(cookies),
					"content-type": "application/x-www-form-urlencoded"
				},
				body: "includeApiKeys=true"
			});
			expect({ headers, status: res.status }).toEqual({ headers, status: 403 });
			expect(res.body).toMatchObject({ type: "CROSS_SITE_REQUEST" });
			const refresh = await postJson(
				api("/api/auth/refresh"),
				{},
				{ ...headers, cookie: jar(cookies) }
			);
			expect(refresh.status).toBe(403);
		}
		// The session is untouched; from our own origin the same change goes through.
		const me = await request(api("/api/me"), { headers: { cookie: jar(cookies) } });
		expect(me.status).toBe(200);
		const ok = await postJson(
			api("/api/me/sign-out-everywhere"),
			{},
			{ "sec-fetch-site": "same-origin", cookie: jar(cookies) }
		);
		expect(ok.status).toBe(200);
	});

	it("still takes bearer tokens from anywhere, and refuses a malformed cookie flag", async () => {
		const plain = await postJson(api("/api/auth/sign-in"), { login: "dev", password });
		expect(plain.status).toBe(200);
		expect(plain.headers.getSetCookie()).toEqual([]);
		const { accessToken } = plain.body as { accessToken: string };
		const res = await postJson(
			api("/api/me/sign-out-everywhere"),
			{},
			{ origin: "https://evil.example", authorization: `Bearer ${accessToken}` }
		);
		expect(res.status).toBe(200);

		const bad = await postJson(
			api("/api/auth/sign-in"),
			{ login: "dev", password, cookie: "yes" },
			same
		);
		expect(bad.status).toBe(422);
		expect(JSON.stringify(bad.body)).toContain('"field":"cookie"');
		const elsewhere = await postJson(api("/api/auth/forgot-password"), {
			email: "dev@example.com",
			cookie: true
		});
		expect(elsewhere.status).toBe(422);
	});

	it("refuses a cross-site form on a mail page before the token is looked at", async () => {
		const crossSite: Record<string, string>[] = [
			{ origin: "https://evil.example" },
			{ "sec-fetch-site": "cross-site" }
		];
		for (const headers of crossSite) {
			const res = await request(api("/reset-password"), {
				method: "POST",
				headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
				body: "token=abc&password=long+enough+secret&confirmPassword=long+enough+secret"
			});
			expect(res.status).toBe(403);
			expect(res.text).toContain("<html");
		}
		// Our own page's form (and a client without browser headers) still reaches the token check.
		for (const headers of [same, {}]) {
			const res = await request(api("/reset-password"), {
				method: "POST",
				headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
				body: "token=abc&password=long+enough+secret&confirmPassword=long+enough+secret"
			});
			expect(res.status).toBe(400);
		}
	});
});
