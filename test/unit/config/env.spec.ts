import * as env from "../../../lib/config/env";

describe("wholeNumberFromEnv", () => {
	it("reads a whole number, or falls back when the variable is unset or empty", () => {
		expect(env.wholeNumberFromEnv({ N: "250" }, "N", 7)).toBe(250);
		expect(env.wholeNumberFromEnv({ N: "0" }, "N", 7)).toBe(0);
		expect(env.wholeNumberFromEnv({}, "N", 7)).toBe(7);
		expect(env.wholeNumberFromEnv({ N: "" }, "N", 7)).toBe(7);
	});

	it.each(["-1", "1.5", "ten", "1e400"])("refuses %s, naming the variable", raw => {
		expect(() => env.wholeNumberFromEnv({ LIMIT: raw }, "LIMIT", 1)).toThrow(
			"LIMIT must be a whole, non-negative number"
		);
	});
});

describe("positiveWholeNumberFromEnv", () => {
	it("reads a positive whole number, or falls back when unset or empty", () => {
		expect(env.positiveWholeNumberFromEnv({ N: "5" }, "N", 7)).toBe(5);
		expect(env.positiveWholeNumberFromEnv({}, "N", 7)).toBe(7);
		expect(env.positiveWholeNumberFromEnv({ N: "" }, "N", 7)).toBe(7);
	});

	it.each(["0", "-1", "1.5", "ten", "1e3"])("refuses %j, naming the variable", raw => {
		expect(() => env.positiveWholeNumberFromEnv({ N: raw }, "N", 7)).toThrow(
			"N must be a positive whole number"
		);
	});
});

describe("publicUrlFromEnv", () => {
	it("is PUBLIC_URL without trailing slashes, or the local default", () => {
		expect(env.publicUrlFromEnv({ PUBLIC_URL: "https://app.example//" })).toBe(
			"https://app.example"
		);
		expect(env.publicUrlFromEnv({ PUBLIC_URL: "https://app.example/base" })).toBe(
			"https://app.example/base"
		);
		expect(env.publicUrlFromEnv({})).toBe("http://localhost:3000");
	});
});
