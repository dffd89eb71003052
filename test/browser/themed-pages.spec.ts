/**
 * The mail-link pages as an operator styles them (PAGES_DIR: theme.json and texts) and in French
 * (PAGES_LANGUAGE=fr), in Debian's Chromium: the texts, the product name, the colours, no console
 * error or CSP violation, and axe-core finds nothing. Screenshots go to .ci/screenshots/.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { authService } from "../helpers/auth";
import { signUpUsers, type MailingGateway, startMailingGateway } from "../helpers/gateway";
import { freePort } from "../helpers/process";
import { linkIn } from "../helpers/smtp";
import { SCREENSHOTS, describeWithBrowser, launchBrowser } from "../helpers/browser";

const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

describeWithBrowser("themed pages in French, in Chromium", () => {
	let gw: MailingGateway;
	let browser: Browser;
	const pagesDir = mkdtempSync(join(tmpdir(), "pages-theme-"));

	beforeAll(async () => {
		writeFileSync(
			join(pagesDir, "theme.json"),
			JSON.stringify({ productName: "Acme Comptes", colors: { accent: "#7a1f5c" } })
		);
		writeFileSync(
			join(pagesDir, "fr.json"),
			JSON.stringify({ "Sign in": "Se connecter à Acme" })
		);
		const port = await freePort();
		const publicUrl = `http://127.0.0.1:${port}`;
		gw = await startMailingGateway({
			settings: { port, publicUrl, pagesDir, pagesLanguage: "fr" },
			services: [authService({ publicUrl })]
		});
		browser = await launchBrowser();
	}, 60_000);

	afterAll(async () => {
		await browser?.close();
		await gw?.stop();
		rmSync(pagesDir, { recursive: true, force: true });
	});

	it("shows the confirmation and magic-link pages in French, with the operator's name and colours", async () => {
		await signUpUsers(gw, ["lea"], "a long enough password");
		const mail = await gw.smtp.waitFor(m => m.to.includes("lea@example.com"));
		const context = await browser.newContext();
		const page = await context.newPage();
		const problems: string[] = [];
		page.on("pageerror", err => problems.push(err.message));
		page.on("console", m => {
			if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
				problems.push(m.text());
			}
		});
		await page.goto(linkIn(mail, "/verify-email"));
		expect(await page.title()).toBe("Confirmez votre adresse e-mail");
		expect(await page.getAttribute("html", "lang")).toBe("fr");
		expect(await page.textContent("header")).toBe("Acme Comptes");
		const accent = await page.evaluate(
			() =>
				(
					globalThis as unknown as {
						getComputedStyle(e: unknown): { backgroundColor: string };
						document: { querySelector(s: string): unknown };
					}
				).getComputedStyle(
					(
						globalThis as unknown as { document: { querySelector(s: string): unknown } }
					).document.querySelector("button")
				).backgroundColor
		);
		expect(accent).toBe("rgb(122, 31, 92)");
		await page.evaluate(AXE);
		const violations = await page.evaluate(() =>
			(
				globalThis as unknown as {
					axe: { run(): Promise<{ violations: { id: string }[] }> };
				}
			).axe.run()
		);
		expect(violations.violations.map(v => v.id)).toEqual([]);
		await page.screenshot({
			path: join(SCREENSHOTS, "themed-verify-email-fr.png"),
			fullPage: true
		});

		await gw.broker.call("auth.requestMagicLink", { email: "lea@example.com" });
		const magic = await gw.smtp.waitFor(
			m => m.to.includes("lea@example.com") && m.text.includes("/magic-link?token=")
		);
		await page.goto(linkIn(magic, "/magic-link"));
		expect(await page.title()).toBe("Se connecter à Acme");
		await page.screenshot({
			path: join(SCREENSHOTS, "themed-magic-link-fr.png"),
			fullPage: true
		});
		expect(problems).toEqual([]);
		await context.close();
	});
});
