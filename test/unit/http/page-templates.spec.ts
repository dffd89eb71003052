import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import french from "../../../lib/http/page-texts/fr.json";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import * as templates from "../../../lib/http/page-templates";
import { contentSecurityPolicy, renderPage, styleOf } from "../../../lib/http/page-rendering";

describe("page templates", () => {
	let dir: string;
	beforeEach(() => {
		dir = mkdtempSync(join(tmpdir(), "pages-"));
	});
	afterEach(() => rmSync(dir, { recursive: true, force: true }));

	it("ships English and French, every text translated", () => {
		expect(templates.SHIPPED_LANGUAGES).toEqual(["en", "fr"]);
		const source = readFileSync(join(__dirname, "../../../lib/http/page-rendering.ts"), "utf8");
		const msgids = [...source.matchAll(/\bt\(\s*"((?:[^"\\]|\\.)*)"/g)].map(m => m[1]);
		expect(msgids.length).toBeGreaterThan(30);
		expect(msgids.filter(id => !(id in french))).toEqual([]);
		const { pages, theme } = templates.loadPageTemplates(null, "fr");
		expect(theme.language).toBe("fr");
		const html = renderPage(pages.verifyEmailConfirm("t"), theme);
		expect(html).toContain('<html lang="fr">');
		expect(html).toContain("<title>Confirmez votre adresse e-mail</title>");
		expect(renderPage(pages.actionConfirm("t", "s’abonner"), theme)).toContain(
			"Ce lien vous demande de confirmer : s’abonner."
		);
	});

	it("takes the operator's texts over the shipped ones, and the theme from theme.json", () => {
		writeFileSync(join(dir, "en.json"), JSON.stringify({ "Sign in": "Log in to Acme" }));
		writeFileSync(
			join(dir, "theme.json"),
			JSON.stringify({
				productName: "Acme <Accounts>",
				logoUrl: "https://cdn.acme.test/logo.svg",
				colors: { accent: "#aa0044" }
			})
		);
		const { pages, theme } = templates.loadPageTemplates(dir, null);
		const html = renderPage(pages.magicLinkConfirm("t"), theme);
		expect(html).toContain("<title>Log in to Acme</title>");
		expect(html).toContain("<span>Acme &lt;Accounts&gt;</span>");
		expect(html).toContain('<img src="https://cdn.acme.test/logo.svg" alt="">');
		expect(styleOf(theme)).toContain("background:#aa0044");
		const csp = contentSecurityPolicy(theme);
		const hash = createHash("sha256").update(styleOf(theme)).digest("base64");
		expect(csp).toContain(`style-src 'sha256-${hash}'`);
		expect(csp).toContain("img-src https://cdn.acme.test");
	});

	it.each([
		[{ colors: { accent: "red;}body{display:none" } }, /colors.accent/],
		[{ logoUrl: "javascript:alert(1)" }, /logoUrl/],
		[{ language: "../../etc" }, /language/]
	])("refuses a theme.json with %j at start", (theme, message) => {
		writeFileSync(join(dir, "theme.json"), JSON.stringify(theme));
		expect(() => templates.loadPageTemplates(dir, null)).toThrow(message);
	});

	it("refuses texts that are not strings, naming the file", () => {
		writeFileSync(join(dir, "fr.json"), JSON.stringify({ "Sign in": 3 }));
		expect(() => templates.loadPageTemplates(dir, "fr")).toThrow(/fr\.json/);
	});
});
