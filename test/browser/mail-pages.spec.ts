/**
 * The pages behind the mail links, as a reader meets them in Debian's Chromium: open the mailed
 * link, see the confirm page, press the button (by keyboard only), see the result; reset a password
 * through the form, a mismatch first; redeem an action link. Every page is checked with axe-core
 * (labels, contrast, language…), and no page logs a console error or a CSP violation. Screenshots
 * go to .ci/screenshots/.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import type { Context } from "moleculer";
import LinksService, { type CreatedLink } from "../../services/links.service";
import { authService } from "../helpers/auth";
import { withSettings } from "../helpers/broker";
import { signUpUsers, type MailingGateway, startMailingGateway } from "../helpers/gateway";
import { freePort } from "../helpers/process";
import { linkIn, tokenOf } from "../helpers/smtp";
import { SCREENSHOTS, describeWithBrowser, launchBrowser } from "../helpers/browser";
import { postJson } from "../helpers/http";
import { base32Decode, hotp, totpStep } from "../../lib/auth/totp";

const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

interface AxeViolation {
	id: string;
	help: string;
	nodes: { target: string[] }[];
}

describeWithBrowser("mail-link pages in Chromium", () => {
	let gw: MailingGateway;
	let browser: Browser;
	const subscribed: unknown[] = [];
	const password = "a long enough password";

	beforeAll(async () => {
		const port = await freePort();
		const publicUrl = `http://127.0.0.1:${port}`;
		gw = await startMailingGateway({
			settings: { port, publicUrl },
			services: [
				authService({ publicUrl }),
				dataDir =>
					withSettings(LinksService, {
						dataDir,
						publicUrl,
						allowedActions: ["newsletter.subscribe"]
					}),
				() => ({
					name: "newsletter",
					actions: {
						subscribe(ctx: Context<{ list: string }>) {
							subscribed.push(ctx.params);
							return { ok: true };
						}
					}
				})
			]
		});
		browser = await launchBrowser();
	}, 60_000);
	afterAll(async () => {
		await browser?.close();
		await gw?.stop();
	});

	/** A tab that records console errors (CSP violations are reported there too). */
	async function openTab() {
		const context = await browser.newContext();
		const page = await context.newPage();
		const problems: string[] = [];
		page.on("console", message => {
			if (message.type() !== "error") return;
			// Chromium reports a page's own 4xx status (a form shown again with 422, a used link's
			// 404) and the /favicon.ico these pages do not have as "failed to load": no fault of the page.
			const url = message.location().url;
			const ownStatus =
				message.text().startsWith("Failed to load resource") &&
				(url === page.url() || url.endsWith("/favicon.ico"));
			if (!ownStatus) problems.push(message.text());
		});
		page.on("pageerror", err => problems.push(err.message));
		return { page, problems, close: () => context.close() };
	}

	/** axe-core's violations on the page (injected through the debugger: the CSP forbids scripts). */
	async function accessibilityViolations(page: Page): Promise<string[]> {
		await page.evaluate(AXE);
		const violations = await page.evaluate(
			() =>
				(
					globalThis as unknown as {
						axe: { run(): Promise<{ violations: AxeViolation[] }> };
					}
				).axe.run() as Promise<{ violations: AxeViolation[] }>
		);
		return violations.violations.map(
			v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(" ")).join(", ")})`
		);
	}

	/** The focused element's tag and name, as the keyboard left it. */
	const focused = (page: Page) =>
		page.evaluate(() => {
			const doc = (
				globalThis as unknown as {
					document: {
						activeElement: { tagName: string; getAttribute(n: string): string | null };
					};
				}
			).document;
			return `${doc.activeElement.tagName} ${doc.activeElement.getAttribute("name") ?? ""}`;
		});

	const shot = (page: Page, name: string) =>
		page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

	it("confirms an address from the mailed link, by keyboard only", async () => {
		await signUpUsers(gw, ["kay"], password);
		const mail = await gw.smtp.waitFor(m => m.to.includes("kay@example.com"));
		const { page, problems, close } = await openTab();
		await page.goto(linkIn(mail, "/verify-email"));
		expect(await page.title()).toBe("Confirm your e-mail address");
		expect(await accessibilityViolations(page)).toEqual([]);
		await shot(page, "verify-email-confirm");
		// Tab to the password field, type it, tab to the button, press Enter.
		await page.keyboard.press("Tab");
		expect(await focused(page)).toBe("INPUT password");
		await page.keyboard.type(password);
		await page.keyboard.press("Tab");
		expect(await focused(page)).toBe("BUTTON ");
		await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
		expect(await page.title()).toBe("E-mail address confirmed");
		expect(await page.textContent("main")).toContain("You can close this page");
		expect(await accessibilityViolations(page)).toEqual([]);
		await shot(page, "verify-email-done");
		expect(problems).toEqual([]);
		await close();
	});

	it("resets a password through the form, asking again after a mismatch", async () => {
		await gw.broker.call("auth.forgotPassword", { email: "kay@example.com" });
		const mail = await gw.smtp.waitFor(
			m => m.to.includes("kay@example.com") && m.text.includes("/reset-password?token=")
		);
		const { page, problems, close } = await openTab();
		await page.goto(linkIn(mail, "/reset-password"));
		expect(await page.title()).toBe("Choose a new password");
		expect(await accessibilityViolations(page)).toEqual([]);
		await page.fill("#f-password", "a brand new password");
		await page.fill("#f-confirmPassword", "a different password");
		await Promise.all([page.waitForNavigation(), page.click("button")]);
		expect(await page.title()).toBe("Choose a new password");
		expect(await page.textContent(".error")).toMatch(/match|same/i);
		expect(await accessibilityViolations(page)).toEqual([]);
		await shot(page, "reset-password-mismatch");
		await page.fill("#f-password", "a brand new password");
		await page.fill("#f-confirmPassword", "a brand new password");
		await Promise.all([page.waitForNavigation(), page.click("button")]);
		expect(await page.title()).toBe("Password changed");
		await shot(page, "reset-password-done");
		await expect(
			gw.broker.call("auth.signIn", { login: "kay", password: "a brand new password" })
		).resolves.toMatchObject({ user: { username: "kay" } });
		expect(problems).toEqual([]);
		await close();
	});

	it("goes on from a magic link to the TOTP step for an account with TOTP on", async () => {
		await signUpUsers(gw, ["tess"], password);
		const confirm = await gw.smtp.waitFor(m => m.to.includes("tess@example.com"));
		await gw.broker.call("auth.verifyEmail", {
			token: tokenOf(linkIn(confirm, "/verify-email")),
			password
		});
		const session = await gw.broker.call<{ accessToken: string }, object>("auth.signIn", {
			login: "tess",
			password
		});
		const bearer = { authorization: `Bearer ${session.accessToken}` };
		const enrol = await postJson(`${gw.url}/api/me/totp`, {}, bearer);
		const secret = base32Decode((enrol.body as { secret: string }).secret);
		const code = (offset = 0) => hotp(secret, totpStep(Date.now()) + offset);
		expect(
			(await postJson(`${gw.url}/api/me/totp/confirm`, { code: code() }, bearer)).status
		).toBe(200);
		await gw.broker.call("auth.requestMagicLink", { email: "tess@example.com" });
		const mail = await gw.smtp.waitFor(
			m => m.to.includes("tess@example.com") && m.text.includes("/magic-link?token=")
		);
		const { page, problems, close } = await openTab();
		await page.goto(linkIn(mail, "/magic-link"));
		await Promise.all([page.waitForNavigation(), page.click("button")]);
		expect(await page.title()).toBe("Enter your code");
		expect(await accessibilityViolations(page)).toEqual([]);
		await page.fill("#f-code", "000000" === code(1) ? "111111" : "000000");
		await Promise.all([page.waitForNavigation(), page.click("button")]);
		expect(await page.title()).toBe("Enter your code");
		expect(await page.textContent(".error")).toMatch(/wrong|expired/i);
		await shot(page, "magic-link-totp-wrong-code");
		await page.fill("#f-code", code(1));
		await Promise.all([page.waitForNavigation(), page.click("button")]);
		expect(await page.title()).toBe("You are signed in");
		expect(await page.textContent("main")).not.toContain("NaN");
		expect(await page.textContent("main")).not.toMatch(/eyJ|mtf_/);
		expect(await accessibilityViolations(page)).toEqual([]);
		// The browser holds the session in its cookies: the API answers it.
		await page.goto(`${gw.url}/api/me`);
		expect(JSON.parse((await page.textContent("body"))!)).toMatchObject({ username: "tess" });
		await shot(page, "magic-link-totp-signed-in");
		expect(problems).toEqual([]);
		await close();
	});

	it("redeems an action link once, then says it is used", async () => {
		const link = await gw.broker.call<CreatedLink, object>("links.create", {
			owner: "kay",
			action: "newsletter.subscribe",
			params: { list: "news" }
		});
		const { page, problems, close } = await openTab();
		await page.goto(link.url);
		expect(await page.title()).toBe("Confirm");
		expect(await accessibilityViolations(page)).toEqual([]);
		await shot(page, "action-link-confirm");
		expect(subscribed).toEqual([]);
		await Promise.all([page.waitForNavigation(), page.click("button")]);
		expect(await page.title()).toBe("Done");
		expect(subscribed).toEqual([{ list: "news" }]);
		await page.goto(link.url);
		expect(await page.title()).toBe("This link is not valid");
		expect(await accessibilityViolations(page)).toEqual([]);
		await shot(page, "action-link-used");
		expect(problems).toEqual([]);
		await close();
	});
});
