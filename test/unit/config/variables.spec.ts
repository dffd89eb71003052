/**
 * The registry of environment variables (lib/config/variables.ts) against the code and the files
 * generated from it: every variable the code reads is listed, every listed one is read, and
 * .env.example and docs/configuration.md are what `npm run docs:generate` writes.
 */
import { join } from "node:path";
import { prettierFormatted } from "../../helpers/docs";
import * as variables from "../../../lib/config/variables";
import { readSource, REPO_ROOT, sources } from "../../helpers/source-tree";

const read = readSource;

/** Variables moleculer-runner or moleculer read, not our code. */
const READ_BY_MOLECULER = ["SERVICES", "SERVICEDIR", "NODE_ENV"];

/** Every environment variable name the code reads, found by how it reads them. */
function namesReadByCode(): Set<string> {
	const files = ["services", "lib", "mixins", "bin", "moleculer.config.ts", "index.ts"]
		.flatMap(sources)
		.filter(f => f.endsWith(".ts") && f !== join("lib", "config", "variables.ts"));
	const names = new Set<string>();
	const patterns = [
		/(?:process\.env|\benv)\.([A-Z][A-Z0-9_]+)/g,
		/\benv\[\s*"([A-Z][A-Z0-9_]+)"\s*\]/g,
		/FromEnv\([^)]*?"([A-Z][A-Z0-9_]+)"/g,
		/envName:\s*"([A-Z][A-Z0-9_]+)"/g,
		// Local readers of one variable each (auth's limits, the scrypt parameters).
		/\b(?:limit|read)\(\s*"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"/g
	];
	for (const file of files) {
		// A cleanup schedule's prefix is not a variable: its three are added below.
		const text = read(file).replace(/cleanupScheduleFromEnv\(\s*"[A-Z]+"/g, "");
		for (const pattern of patterns) for (const m of text.matchAll(pattern)) names.add(m[1]);
		for (const m of read(file).matchAll(/cleanupScheduleFromEnv\(\s*"([A-Z]+)"/g)) {
			for (const suffix of ["ENABLED", "CRON", "TZ"]) names.add(`${m[1]}_CLEANUP_${suffix}`);
		}
	}
	return names;
}

describe("the registry of environment variables", () => {
	const listed = new Set(variables.allVariables().map(v => v.name));

	it("lists every variable the code reads", () => {
		const unlisted = [...namesReadByCode()].filter(name => !listed.has(name)).sort();
		expect(unlisted).toEqual([]);
	});

	it("lists only variables something reads", () => {
		const read = namesReadByCode();
		const unread = [...listed]
			.filter(name => !read.has(name) && !READ_BY_MOLECULER.includes(name))
			.sort();
		expect(unread).toEqual([]);
	});

	it("lists each variable once", () => {
		expect(listed.size).toBe(variables.allVariables().length);
	});

	it("is what .env.example and docs/configuration.md hold (npm run docs:generate)", () => {
		expect(read(".env.example")).toBe(variables.renderEnvExample());
		// As the script leaves it: formatted by Prettier (run as a program: jest cannot load it).
		const formatted = prettierFormatted(
			REPO_ROOT,
			"docs/configuration.md",
			variables.renderConfigurationDoc()
		);
		expect(read("docs/configuration.md")).toBe(formatted);
	});
});
