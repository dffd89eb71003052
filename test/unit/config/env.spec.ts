import {
	positiveWholeNumberFromEnv,
	publicUrlFromEnv,
	wholeNumberFromEnv
} from "../../../lib/config/env";

describe("wholeNumberFromEnv", () => {
	it("reads a whole number, or falls back when the variable is unset or empty", () => {
		expect(wholeNumberFromEnv({ N: "250" }, "N", 7)).toBe(250);
		expect(wholeNumberFromEnv({ N: "0" }, "N", 7)).toBe(0);
		expect(wholeNumberFromEnv({}, "N", 7)).toBe(7);
		expect(wholeNumberFromEnv({ N: "" }, "N", 7)).toBe(7);
	});

	it.each(["-1", "1.5", "ten", "1e400"])("refuses %s, naming the variable", raw => {
		expect(() => wholeNumberFromEnv({ LIMIT: raw }, "LIMIT", 1)).toThrow(
			"LIMIT must be a whole, non-negative number"
		);
	});
});

describe("positiveWholeNumberFromEnv", () => {
	it("reads a positive whole number, or falls back when unset or empty", () => {
		expect(positiveWholeNumberFromEnv({ N: "5" }, "N", 7)).toBe(5);
		expect(positiveWholeNumberFromEnv({}, "N", 7)).toBe(7);
		expect(positiveWholeNumberFromEnv({ N: "" }, "N", 7)).toBe(7);
	});

	it.each(["0", "-1", "1.5", "ten", "1e3"])("refuses %j, naming the variable", raw => {
		expect(() => positiveWholeNumberFromEnv({ N: raw }, "N", 7)).toThrow(
			"N must be a positive whole number"
		);
	});
});

describe("publicUrlFromEnv", () => {
	it("is PUBLIC_URL without trailing slashes, or the local default", () => {
		expect(publicUrlFromEnv({ PUBLIC_URL: "https://app.example//" })).toBe(
			"https://app.example"
		);
		expect(publicUrlFromEnv({ PUBLIC_URL: "https://app.example/base" })).toBe(
			"https://app.example/base"
		);
		expect(publicUrlFromEnv({})).toBe("http://localhost:3000");
	});
});
