/**
 * Cookie sessions as a browser app lives them, in Debian's Chromium: sign in with `"cookie": true`,
 * reload and stay signed in, two tabs refreshing at once and both staying signed in, sign out; and
 * a form on another origin of the same site posting to a cookie-authenticated route, refused.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { authService } from "../helpers/auth";
import { startGateway, type TestGateway, signUpUsers } from "../helpers/gateway";
import { freePort } from "../helpers/process";
import { SCREENSHOTS, describeWithBrowser, launchBrowser } from "../helpers/browser";

interface Answer {
	status: number;
	body: Record<string, unknown>;
}

/** A call from the page's own script, as a browser app makes it (cookies ride along). */
function call(page: Page, method: string, path: string, json?: unknown): Promise<Answer> {
	return page.evaluate(
		async ({ method, path, json }) => {
			const res = await fetch(path, {
				method,
				headers: json === undefined ? {} : { "content-type": "application/json" },
				body: json === undefined ? undefined : JSON.stringify(json)
			});
			return { status: res.status, body: (await res.json()) as Record<string, unknown> };
		},
		{ method, path, json }
	);
}

describeWithBrowser("cookie sessions in Chromium", () => {
	let gw: TestGateway;
	let browser: Browser;
	let attacker: Server;
	const password = "a long enough password";

	beforeAll(async () => {
		const port = await freePort();
		gw = await startGateway({
			settings: { port, publicUrl: `http://127.0.0.1:${port}` },
			services: [authService({ requireVerifiedEmail: false })]
		});
		await signUpUsers(gw, ["bea"], password);
		browser = await launchBrowser();
		// Another origin of the same site (same host, another port): cookies are sent from it.
		attacker = createServer((_req, res) => {
			res.writeHead(200, { "content-type": "text/html" });
			res.end(
				`<!doctype html><html lang="en"><body><form method="post" action="${gw.url}/api/me/sign-out-everywhere">` +
					`<input type="hidden" name="includeApiKeys" value="true"></form>` +
					`<script>document.forms[0].submit()</script></body></html>`
			);
		});
		await new Promise<void>(resolve => attacker.listen(0, "127.0.0.1", resolve));
	}, 60_000);
	afterAll(async () => {
		await browser?.close();
		attacker?.close();
		await gw?.stop();
	});

	/** A fresh browser profile with one tab on the gateway's origin, signed in with cookies. */
	async function signedInTab() {
		const context = await browser.newContext();
		const tab = await context.newPage();
		await tab.goto(`${gw.url}/health`);
		const signIn = await call(tab, "POST", "/api/auth/sign-in", {
			login: "bea",
			password,
			cookie: true
		});
		expect(signIn.status).toBe(200);
		return { context, tab, signIn };
	}

	it("signs in, stays signed in across a reload and two tabs refreshing at once, and signs out", async () => {
		const { context, tab, signIn } = await signedInTab();
		expect(signIn.body).not.toHaveProperty("accessToken");
		// HttpOnly: the page's script cannot read them.
		// eslint-disable-next-line @typescript-eslint/no-explicit-any
		expect(await tab.evaluate(() => (globalThis as any).document.cookie)).toBe("");
		expect((await context.cookies()).map(c => c.name).sort()).toEqual([
			"mtk_access",
			"mtk_refresh"
		]);

		await tab.reload();
		expect(await call(tab, "GET", "/api/me")).toMatchObject({
			status: 200,
			body: { username: "bea" }
		});

		const second = await context.newPage();
		await second.goto(`${gw.url}/health`);
		const both = await Promise.all([
			call(tab, "POST", "/api/auth/refresh", {}),
			call(second, "POST", "/api/auth/refresh", {})
		]);
		expect(both.map(a => a.status)).toEqual([200, 200]);
		for (const page of [tab, second]) {
			expect((await call(page, "GET", "/api/me")).status).toBe(200);
		}
		const sessions = await call(tab, "GET", "/api/me/sessions");
		expect(sessions.status).toBe(200);
		expect(sessions.body).toHaveLength(1);
		// The family lives on: the next refresh works too.
		expect((await call(second, "POST", "/api/auth/refresh", {})).status).toBe(200);
		await tab.screenshot({ path: join(SCREENSHOTS, "cookie-session-signed-in.png") });

		expect((await call(tab, "POST", "/api/auth/sign-out", {})).status).toBe(200);
		expect(await context.cookies()).toEqual([]);
		expect((await call(second, "GET", "/api/me")).status).toBe(401);
		await context.close();
	});

	it("refuses a form posted from another origin of the same site, and the session lives on", async () => {
		const { context, tab } = await signedInTab();

		const evil = await context.newPage();
		const { port } = attacker.address() as AddressInfo;
		const answer = evil.waitForResponse(r => r.url().endsWith("/api/me/sign-out-everywhere"));
		await evil.goto(`http://127.0.0.1:${port}/`);
		const res = await answer;
		expect(res.status()).toBe(403);
		expect(await res.json()).toMatchObject({ type: "CROSS_SITE_REQUEST" });
		// The cookie did ride along (same site): the gateway's origin check is what refused it.
		expect(
			res.request().headers().cookie ?? (await res.request().allHeaders()).cookie
		).toContain("mtk_access=");
		await evil.screenshot({ path: join(SCREENSHOTS, "cookie-session-cross-site-refused.png") });

		expect((await call(tab, "GET", "/api/me")).status).toBe(200);
		await context.close();
	});
});
