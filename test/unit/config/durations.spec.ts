import { durationFromEnv, parseDuration } from "../../../lib/config/durations";

describe("durations", () => {
	it.each([
		[3600, 3600],
		["3600", 3600],
		["30s", 30],
		["15m", 900],
		["12h", 43200],
		["7d", 604800],
		["2w", 1209600],
		[" 5 m ", 300]
	])("parses %p as %p seconds", (input, seconds) => {
		expect(parseDuration(input)).toBe(seconds);
	});

	it.each(["", "abc", "1y", "-5", "1.5h", "5mm"])("rejects %p, naming its source", input => {
		expect(() => parseDuration(input, "TOKENS_TOUCH_INTERVAL")).toThrow(
			/TOKENS_TOUCH_INTERVAL/
		);
	});

	it("rejects negative and fractional numbers", () => {
		expect(() => parseDuration(-1)).toThrow();
		expect(() => parseDuration(1.5)).toThrow();
	});

	it("reads the environment with a fallback", () => {
		expect(durationFromEnv({ X: "2m" }, "X", 5)).toBe(120);
		expect(durationFromEnv({}, "X", 5)).toBe(5);
		expect(durationFromEnv({ X: "" }, "X", 5)).toBe(5);
	});
});
