import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { resolveSecret } from "../../../lib/config/secrets";
import { listFromEnv } from "../../../lib/config/env";
import { removeDir, tempDataDir } from "../../helpers/broker";

describe("resolveSecret", () => {
	let dir: string;
	const warnings: string[] = [];
	const base = () => ({
		envName: "TOKEN_SALT",
		fileName: "token-salt",
		dataDir: dir,
		warn: (m: string) => warnings.push(m)
	});

	beforeEach(() => {
		dir = tempDataDir();
		warnings.length = 0;
	});
	afterEach(() => removeDir(dir));

	it("uses the environment value when set", () => {
		const salt = "x".repeat(40);
		expect(resolveSecret({ ...base(), env: { TOKEN_SALT: salt } })).toBe(salt);
		expect(warnings).toEqual([]);
	});

	it("refuses to start in production without it, with a clear message", () => {
		expect(() => resolveSecret({ ...base(), env: { NODE_ENV: "production" } })).toThrow(
			/TOKEN_SALT is required when NODE_ENV=production/
		);
	});

	it("refuses a short secret in production", () => {
		expect(() =>
			resolveSecret({ ...base(), env: { NODE_ENV: "production", TOKEN_SALT: "short" } })
		).toThrow(/TOKEN_SALT is too short/);
	});

	it("creates a development secret once, keeps it private, and reuses it", () => {
		const first = resolveSecret({ ...base(), env: {} });
		const second = resolveSecret({ ...base(), env: {} });
		expect(first.length).toBeGreaterThanOrEqual(32);
		expect(second).toBe(first);
		expect(readFileSync(join(dir, "token-salt"), "utf8").trim()).toBe(first);
		expect(statSync(join(dir, "token-salt")).mode & 0o077).toBe(0);
		expect(warnings[0]).toMatch(/created a development secret/);
		expect(warnings[1]).toMatch(/using the development secret/);
		expect(warnings.join(" ")).not.toContain(first);
	});

	it("splits lists", () => {
		expect(listFromEnv({ L: " a, ,b ," }, "L")).toEqual(["a", "b"]);
		expect(listFromEnv({}, "L")).toEqual([]);
	});
});
