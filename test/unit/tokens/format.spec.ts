import * as format from "../../../lib/tokens/format";

describe("token format", () => {
	it("creates prefixed tokens of the documented shape", () => {
		const token = format.createToken("mtk");
		expect(token).toMatch(
			new RegExp(`^mtk_[0-9A-Za-z]{${format.RANDOM_LENGTH + format.CHECKSUM_LENGTH}}$`)
		);
		expect(format.isWellFormedToken(token, "mtk")).toBe(true);
	});

	it("carries at least 160 bits of randomness", () => {
		expect(format.RANDOM_BITS).toBeGreaterThanOrEqual(160);
	});

	it("never repeats a token and uses the whole alphabet", () => {
		const seen = new Set<string>();
		const chars = new Set<string>();
		for (let i = 0; i < 5000; i++) {
			const token = format.createToken("mtv");
			seen.add(token);
			for (const c of token.slice(4, 4 + format.RANDOM_LENGTH)) chars.add(c);
		}
		expect(seen.size).toBe(5000);
		expect(chars.size).toBe(62);
	});

	it("rejects a token with any single character changed (checksum)", () => {
		const token = format.createToken("mtp");
		let rejected = 0;
		for (let i = 4; i < token.length; i++) {
			const replacement = token[i] === "a" ? "b" : "a";
			const typo = token.slice(0, i) + replacement + token.slice(i + 1);
			if (!format.isWellFormedToken(typo, "mtp")) rejected++;
		}
		expect(rejected).toBe(token.length - 4);
	});

	it("rejects other prefixes, lengths and characters", () => {
		const token = format.createToken("mtr");
		expect(format.isWellFormedToken(token, "mtv")).toBe(false);
		expect(format.isWellFormedToken(token.slice(0, -1), "mtr")).toBe(false);
		expect(format.isWellFormedToken(token + "x", "mtr")).toBe(false);
		expect(format.isWellFormedToken(token.replace("_", "-"), "mtr")).toBe(false);
		expect(format.isWellFormedToken("mtr_" + "!".repeat(36), "mtr")).toBe(false);
		expect(format.isWellFormedToken("your-token-value", "mtr")).toBe(false);
		expect(format.isWellFormedToken("", "mtr")).toBe(false);
	});

	it("validates prefixes", () => {
		expect(() => format.assertValidPrefix("mtk")).not.toThrow();
		expect(() => format.assertValidPrefix("a")).toThrow(/Invalid token prefix/);
		expect(() => format.assertValidPrefix("MTK")).toThrow(/Invalid token prefix/);
		expect(() => format.assertValidPrefix("m_k")).toThrow(/Invalid token prefix/);
	});
});
