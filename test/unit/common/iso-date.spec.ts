import { isoDate } from "../../../lib/common/iso-date";

describe("isoDate", () => {
	it("formats epoch milliseconds like Date#toISOString, repeatedly", () => {
		for (const ms of [0, 1_732_182_000_123, Date.UTC(2038, 0, 19, 3, 14, 8, 999)]) {
			expect(isoDate(ms)).toBe(new Date(ms).toISOString());
			expect(isoDate(ms)).toBe(new Date(ms).toISOString());
		}
	});

	it("stays correct past the memo's size bound", () => {
		const base = 1_700_000_000_000;
		for (let i = 0; i < 150_000; i += 7) isoDate(base + i);
		expect(isoDate(base + 7)).toBe(new Date(base + 7).toISOString());
		expect(isoDate(base + 149_996)).toBe(new Date(base + 149_996).toISOString());
	});
});
