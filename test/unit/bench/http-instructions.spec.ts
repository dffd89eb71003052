import * as httpInstructions from "../../../bench/http-instructions";

describe("reading callgrind's dumps (bench:http-instructions)", () => {
	it("takes the highest-numbered dump, by number rather than by name", () => {
		const names = ["callgrind.out", "callgrind.out.9", "callgrind.out.10", "callgrind.out.2"];
		expect(httpInstructions.newestDump(names)).toBe("callgrind.out.10");
	});

	it("ignores the empty start file and anything else in the folder", () => {
		expect(httpInstructions.newestDump(["callgrind.out", "callgrind.out.3.txt"])).toBeNull();
	});

	it("reads the total from the totals line, not from summary or the cost lines", () => {
		const dump = [
			"version: 1",
			"events: Ir",
			"summary: 0",
			"fn=(1) main",
			"12 345",
			"totals: 1416670773",
			""
		].join("\n");
		expect(httpInstructions.dumpTotal(dump)).toBe(1_416_670_773);
	});

	it("refuses a dump without a totals line", () => {
		expect(() => httpInstructions.dumpTotal("events: Ir\nsummary: 12\n")).toThrow(/totals/);
	});
});
