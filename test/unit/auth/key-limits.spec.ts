import {
	assertRateLimitNames,
	keyData,
	limitState,
	nextRefill,
	rateLimitHeaders,
	refillDue,
	refillPeriodStart,
	reportedLimit,
	spend,
	windowOf
} from "../../../lib/auth/api-key-usage/key-limits";

const T = Date.UTC(2026, 1, 27, 13, 45, 30, 500); // 27 Feb 2026, 13:45:30.5 UTC

describe("API-key limit arithmetic", () => {
	it("puts a moment in its fixed window", () => {
		expect(windowOf(T, 60)).toEqual({
			start: Date.UTC(2026, 1, 27, 13, 45),
			end: Date.UTC(2026, 1, 27, 13, 46)
		});
		expect(windowOf(T, 86400).start).toBe(Date.UTC(2026, 1, 27));
		const w = windowOf(1999, 1);
		expect(w).toEqual({ start: 1000, end: 2000 });
	});

	it("finds the refill period of a day, a month and a number of seconds", () => {
		expect(refillPeriodStart(T, "day")).toBe(Date.UTC(2026, 1, 27));
		expect(nextRefill(T, "day")).toBe(Date.UTC(2026, 1, 28));
		expect(refillPeriodStart(T, "month")).toBe(Date.UTC(2026, 1, 1));
		// February's end is March 1st, and December's is next year's January.
		expect(nextRefill(T, "month")).toBe(Date.UTC(2026, 2, 1));
		expect(nextRefill(Date.UTC(2026, 11, 31, 23), "month")).toBe(Date.UTC(2027, 0, 1));
		expect(refillPeriodStart(T, 3600)).toBe(Date.UTC(2026, 1, 27, 13));
		expect(nextRefill(T, 3600)).toBe(Date.UTC(2026, 1, 27, 14));
		expect(refillDue(undefined, T)).toBeNull();
		expect(refillDue({ amount: 7, interval: "day" }, T)).toEqual({
			amount: 7,
			periodStart: Date.UTC(2026, 1, 27)
		});
	});

	it("spends a credit while there is one, never below zero", () => {
		let state = { remaining: 2, refilledAt: 0 };
		const spent: boolean[] = [];
		for (let i = 0; i < 4; i++) {
			const r = spend(state, null);
			spent.push(r.spent);
			state = r.state;
		}
		expect(spent).toEqual([true, true, false, false]);
		expect(state.remaining).toBe(0);
	});

	it("refills to the amount (not by it) once per period, then spends", () => {
		const due = { amount: 10, periodStart: 5000 };
		const first = spend({ remaining: 3, refilledAt: 4000 }, due);
		expect(first).toEqual({ state: { remaining: 9, refilledAt: 5000 }, spent: true });
		// Same period: no second refill.
		expect(spend({ remaining: 0, refilledAt: 5000 }, due)).toEqual({
			state: { remaining: 0, refilledAt: 5000 },
			spent: false
		});
	});

	it("reports the refused limit, else the one with the fewest requests left", () => {
		const a = limitState({ name: "a", limit: 10, duration: 60 }, 4, 60_000);
		const b = limitState({ name: "b", limit: 5, duration: 1 }, 3, 1_000);
		const c = limitState({ name: "c", limit: 2, duration: 3600 }, 3, 3_600_000);
		expect(a).toMatchObject({ remaining: 6, passed: true });
		expect(c).toMatchObject({ remaining: 0, passed: false });
		expect(reportedLimit([a, b])?.name).toBe("b");
		expect(reportedLimit([a, b, c])?.name).toBe("c");
		expect(reportedLimit([])).toBeNull();
		const tie = limitState({ name: "d", limit: 7, duration: 1 }, 1, 500);
		expect(reportedLimit([a, tie])?.name).toBe("d");
		expect(rateLimitHeaders(b)).toEqual({ limit: 5, remaining: 2, reset: 1 });
	});

	it("refuses two limits with one name, naming the second", () => {
		expect(() =>
			assertRateLimitNames([
				{ name: "x", limit: 1, duration: 1 },
				{ name: "y", limit: 1, duration: 1 }
			])
		).not.toThrow();
		expect(() =>
			assertRateLimitNames([
				{ name: "x", limit: 1, duration: 1 },
				{ name: "x", limit: 2, duration: 2 }
			])
		).toThrow(
			expect.objectContaining({
				data: [expect.objectContaining({ field: "rateLimits[1].name" })]
			})
		);
	});

	it("keeps in a key's data only what was given", () => {
		expect(keyData({})).toEqual({});
		expect(keyData({ rateLimits: [] })).toEqual({});
		expect(keyData({ metadata: { a: 1 }, credits: { remaining: 3 } })).toEqual({
			data: { metadata: { a: 1 }, limits: { credits: { remaining: 3 } } }
		});
	});
});
