import { wholeNumberFromEnv } from "../../../lib/config/env";

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
