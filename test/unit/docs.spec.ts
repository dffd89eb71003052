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
		const workLog = /before this change|first session|this session|20\d\d-\d\d-\d\d\b(?!T)/i;
		for (const doc of documents) {
			expect([doc, workLog.test(read(doc))]).toEqual([doc, false]);
		}
	});

	it("name other projects' issues only in the design records", () => {
		const issue = /\b[\w-]+(?:\/[\w-]+)?\s?#\d{2,6}\b/;
		for (const doc of documents.filter(d => d !== "docs/decisions.md")) {
			expect([doc, issue.exec(read(doc))?.[0] ?? null]).toEqual([doc, null]);
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
