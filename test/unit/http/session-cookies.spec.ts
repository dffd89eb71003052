import {
	cookieOf,
	cookiePolicyFor,
	crossSiteForm,
	fromAllowedOrigin,
	sessionCookies
} from "../../../lib/http/session-cookies";

const policy = (publicUrl: string, production = false, corsOrigins: string[] = []) =>
	cookiePolicyFor({ publicUrl, corsOrigins, refreshMaxAge: 60, production });

describe("session cookies", () => {
	it("are Secure except on plain-HTTP localhost outside production", () => {
		expect(policy("http://localhost:3000").secure).toBe(false);
		expect(policy("http://127.0.0.1:3000").secure).toBe(false);
		expect(policy("http://localhost:3000", true).secure).toBe(true);
		expect(policy("http://app.test").secure).toBe(true);
		expect(policy("https://app.test").secure).toBe(true);
		const [access, refresh] = sessionCookies(policy("http://localhost:3000"), {
			accessToken: "a",
			refreshToken: "r",
			expiresIn: 900
		});
		expect(access).toBe("mtk_access=a; Max-Age=900; Path=/api; HttpOnly; SameSite=Lax");
		expect(refresh).toBe("mtk_refresh=r; Max-Age=60; Path=/api/auth; HttpOnly; SameSite=Lax");
	});

	it("are __Host- cookies on Path=/ wherever they are Secure, so no subdomain can set them", () => {
		const [access, refresh] = sessionCookies(policy("https://app.test"), {
			accessToken: "a",
			refreshToken: "r",
			expiresIn: 900
		});
		expect(access).toBe(
			"__Host-mtk_access=a; Max-Age=900; Path=/; HttpOnly; Secure; SameSite=Lax"
		);
		expect(refresh).toBe(
			"__Host-mtk_refresh=r; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax"
		);
		expect(policy("https://app.test").names.device).toBe("__Host-mtk_device");
	});

	it("reads one cookie from a Cookie header", () => {
		expect(cookieOf("a=1; mtk_access=xyz; b=2", "mtk_access")).toBe("xyz");
		expect(cookieOf("mtk_access=", "mtk_access")).toBeUndefined();
		expect(cookieOf(undefined, "mtk_access")).toBeUndefined();
	});

	it("lets cookie-authenticated requests through only from allowed origins", () => {
		const p = policy("https://app.test/base/", false, ["https://admin.test", "*"]);
		expect(fromAllowedOrigin({ origin: "https://app.test" }, p)).toBe(true);
		expect(fromAllowedOrigin({ origin: "https://admin.test" }, p)).toBe(true);
		// "*" in CORS_ORIGINS opens reads, never cookie authentication.
		expect(fromAllowedOrigin({ origin: "https://other.test" }, p)).toBe(false);
		expect(fromAllowedOrigin({ origin: "null" }, p)).toBe(false);
		// A no-referrer page sends Origin: null to its own origin; the fetch metadata says where from.
		expect(fromAllowedOrigin({ origin: "null", "sec-fetch-site": "same-origin" }, p)).toBe(
			true
		);
		expect(fromAllowedOrigin({ origin: "null", "sec-fetch-site": "cross-site" }, p)).toBe(
			false
		);
		expect(fromAllowedOrigin({ "sec-fetch-site": "same-origin" }, p)).toBe(true);
		expect(fromAllowedOrigin({ "sec-fetch-site": "same-site" }, p)).toBe(false);
		expect(fromAllowedOrigin({}, p)).toBe(false);
	});

	it("names a form from another site on the mail pages", () => {
		const p = policy("https://app.test");
		expect(crossSiteForm({ origin: "https://evil.test" }, p)).toBe(true);
		expect(crossSiteForm({ "sec-fetch-site": "cross-site" }, p)).toBe(true);
		expect(crossSiteForm({ "sec-fetch-site": "same-site" }, p)).toBe(true);
		expect(crossSiteForm({ origin: "https://app.test" }, p)).toBe(false);
		expect(crossSiteForm({ "sec-fetch-site": "same-origin" }, p)).toBe(false);
		expect(crossSiteForm({ "sec-fetch-site": "none" }, p)).toBe(false);
		expect(crossSiteForm({ origin: "null", "sec-fetch-site": "same-origin" }, p)).toBe(false);
		expect(crossSiteForm({ origin: "null", "sec-fetch-site": "cross-site" }, p)).toBe(true);
		expect(
			crossSiteForm({ origin: "https://evil.test", "sec-fetch-site": "same-origin" }, p)
		).toBe(false);
		expect(crossSiteForm({}, p)).toBe(false);
	});
});
