/**
 * The docs as a newcomer meets them: a README short enough to read, every page of docs/ reachable
 * from it, links between pages that resolve, no page written as a work log, and an .env.example
 * that a shell can load as its header says.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = join(__dirname, "../..");
const read = (file: string) => readFileSync(join(root, file), "utf8");
const pages = readdirSync(join(root, "docs")).filter(f => f.endsWith(".md"));
const documents = ["README.md", "CONTRIBUTING.md", "SECURITY.md", ...pages.map(p => `docs/${p}`)];

describe("the docs", () => {
	it("keep the README at most 250 lines", () => {
		expect(read("README.md").split("\n").length).toBeLessThanOrEqual(250);
	});

	it("link every page of docs/ from the README", () => {
		const readme = read("README.md");
		expect(pages.length).toBeGreaterThan(8);
		for (const page of pages)
			expect([page, readme.includes(`(docs/${page}`)]).toEqual([page, true]);
	});

	it("have no relative link to a file that does not exist", () => {
		for (const doc of documents) {
			for (const [, target] of read(doc).matchAll(
				/\]\(((?!https?:|#|mailto:)[^)#\s]+)(#[^)]*)?\)/g
			)) {
				const file = resolve(dirname(join(root, doc)), target);
				expect([doc, target, existsSync(file)]).toEqual([doc, target, true]);
			}
		}
	});

	it("read as a guide, not as a work log", () => {
		for (const doc of documents) {
			const text = read(doc);
			expect([doc, /before this change/i.test(text)]).toEqual([doc, false]);
		}
	});

	it("ship an .env.example that bash can load as its header says", () => {
		const out = execFileSync(
			"bash",
			["-c", 'set -eu; set -a; . ./.env.example; set +a; echo "$TOKENS_CLEANUP_CRON"'],
			{
				cwd: root,
				encoding: "utf8"
			}
		);
		expect(out.trim()).toBe("0 0 * * *");
	});
});
