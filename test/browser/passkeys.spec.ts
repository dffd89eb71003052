/**
 * Passkeys as a browser lives them, in Debian's Chromium with the DevTools protocol's virtual
 * authenticator (resident keys, user verification, presence simulated): register through
 * navigator.credentials.create, sign in through navigator.credentials.get with no login typed,
 * replay the same assertion (refused), rename, delete, and the deleted passkey no longer signs in.
 * WebAuthn needs a domain RP id, so the page is on http://localhost:<port>.
 */
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { authService } from "../helpers/auth";
import { startGateway, signUpUsers, type TestGateway } from "../helpers/gateway";
import { freePort } from "../helpers/process";
import { SCREENSHOTS, describeWithBrowser, launchBrowser } from "../helpers/browser";

interface Answer {
	status: number;
	body: Record<string, unknown>;
}

/** A JSON call from the page's own script, with the access token when given. */
function call(page: Page, method: string, path: string, json?: unknown, token?: string) {
	return page.evaluate(
		async ({ method, path, json, token }) => {
			const res = await fetch(path, {
				method,
				headers: {
					...(json === undefined ? {} : { "content-type": "application/json" }),
					...(token ? { authorization: `Bearer ${token}` } : {})
				},
				body: json === undefined ? undefined : JSON.stringify(json)
			});
			return { status: res.status, body: (await res.json()) as Record<string, unknown> };
		},
		{ method, path, json, token }
	) as Promise<Answer>;
}

/**
 * navigator.credentials.create ("create") or .get ("get") with the server's JSON options, parsed
 * by the browser's own PublicKeyCredential; the credential's toJSON().
 */
function ceremony(page: Page, kind: "create" | "get", options: unknown): Promise<unknown> {
	return page.evaluate(
		async ({ kind, options }) => {
			// eslint-disable-next-line @typescript-eslint/no-explicit-any
			const g = globalThis as any;
			const parse =
				kind === "create"
					? g.PublicKeyCredential.parseCreationOptionsFromJSON
					: g.PublicKeyCredential.parseRequestOptionsFromJSON;
			const credential = await g.navigator.credentials[kind]({ publicKey: parse(options) });
			return credential.toJSON();
		},
		{ kind, options }
	);
}
const createPasskey = (page: Page, options: unknown) => ceremony(page, "create", options);
const getPasskey = (page: Page, options: unknown) => ceremony(page, "get", options);

/** Writes what happened into the page, for the screenshot. */
function show(page: Page, lines: string[]): Promise<void> {
	return page.evaluate(lines => {
		// eslint-disable-next-line @typescript-eslint/no-explicit-any
		const d = (globalThis as any).document;
		d.body.innerHTML = `<main style="font:16px system-ui;padding:2em"><h1>Passkeys</h1>${lines
			.map(l => `<p>${l}</p>`)
			.join("")}</main>`;
	}, lines);
}

describeWithBrowser("passkeys in Chromium with a virtual authenticator", () => {
	let gw: TestGateway;
	let browser: Browser;
	let context: BrowserContext;
	let page: Page;
	const password = "a long enough password";

	beforeAll(async () => {
		const port = await freePort();
		const origin = `http://localhost:${port}`;
		gw = await startGateway({
			settings: { port, publicUrl: origin },
			services: [
				authService({
					requireVerifiedEmail: false,
					webauthn: { id: "localhost", name: "Passkey browser test", origins: [origin] }
				})
			]
		});
		await signUpUsers(gw, ["pia"], password);
		browser = await launchBrowser();
		context = await browser.newContext();
		page = await context.newPage();
		const cdp = await context.newCDPSession(page);
		await cdp.send("WebAuthn.enable");
		await cdp.send("WebAuthn.addVirtualAuthenticator", {
			options: {
				protocol: "ctap2",
				transport: "internal",
				hasResidentKey: true,
				hasUserVerification: true,
				isUserVerified: true,
				automaticPresenceSimulation: true
			}
		});
		await page.goto(`${origin}/health`);
	}, 60_000);
	afterAll(async () => {
		await browser?.close();
		await gw?.stop();
	});

	it("registers a passkey, signs in with it (no login typed) once per assertion, renames and deletes it", async () => {
		const signIn = await call(page, "POST", "/api/auth/sign-in", { login: "pia", password });
		const token = signIn.body.accessToken as string;

		const creation = await call(page, "POST", "/api/me/passkeys/options", {}, token);
		expect(creation.status).toBe(200);
		const registration = await createPasskey(page, creation.body);
		const added = await call(
			page,
			"POST",
			"/api/me/passkeys",
			{ response: registration, name: "Chromium" },
			token
		);
		expect(added).toMatchObject({ status: 200, body: { name: "Chromium" } });
		const id = added.body.id as string;

		const request = await call(page, "POST", "/api/auth/passkey/options", {});
		expect(request.body.allowCredentials).toEqual([]);
		const assertion = await getPasskey(page, request.body);
		const session = await call(page, "POST", "/api/auth/passkey/sign-in", {
			response: assertion
		});
		expect(session.status).toBe(200);
		const me = await call(
			page,
			"GET",
			"/api/me",
			undefined,
			session.body.accessToken as string
		);
		expect(me.body).toMatchObject({ username: "pia" });
		await show(page, [`Signed in as ${String(me.body.username)} with passkey “Chromium”.`]);
		await page.screenshot({ path: join(SCREENSHOTS, "passkey-signed-in.png") });

		const replay = await call(page, "POST", "/api/auth/passkey/sign-in", {
			response: assertion
		});
		expect(replay).toMatchObject({ status: 401, body: { type: "PASSKEY_REFUSED" } });

		const renamed = await call(
			page,
			"PUT",
			`/api/me/passkeys/${id}`,
			{ name: "Laptop" },
			token
		);
		expect(renamed.body).toMatchObject({ id, name: "Laptop" });
		const listed = await call(page, "GET", "/api/me/passkeys", undefined, token);
		expect(listed.body).toEqual([
			expect.objectContaining({ id, name: "Laptop", lastUsedAt: expect.any(String) })
		]);
		expect(
			(await call(page, "DELETE", `/api/me/passkeys/${id}`, undefined, token)).status
		).toBe(200);

		// The authenticator still holds the credential; the server no longer knows it.
		const again = await call(page, "POST", "/api/auth/passkey/options", {});
		const stale = await getPasskey(page, again.body);
		const refused = await call(page, "POST", "/api/auth/passkey/sign-in", { response: stale });
		expect(refused).toMatchObject({ status: 401, body: { type: "PASSKEY_REFUSED" } });
		await show(page, ["Deleted passkey refused: PASSKEY_REFUSED."]);
		await page.screenshot({ path: join(SCREENSHOTS, "passkey-deleted-refused.png") });
	}, 60_000);
});
