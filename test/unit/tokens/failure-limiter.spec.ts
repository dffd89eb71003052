import { FailureLimiter } from "../../../lib/tokens/lookup-failures/failure-limiter";

describe("FailureLimiter", () => {
	let now: number;
	const clock = () => now;
	beforeEach(() => {
		now = 1_000_000;
	});

	it("lets a key fail `burst` times, then refuses until a failure is refilled", () => {
		const limiter = new FailureLimiter({ burst: 3, perSecond: 0.5 }, 100, clock);
		for (let i = 0; i < 3; i++) {
			expect(limiter.retryAfter("a")).toBe(0);
			limiter.fail("a");
		}
		expect(limiter.retryAfter("a")).toBe(2); // one failure per 2 s
		now += 1000;
		expect(limiter.retryAfter("a")).toBe(1);
		now += 1000;
		expect(limiter.retryAfter("a")).toBe(0);
		limiter.fail("a");
		expect(limiter.retryAfter("a")).toBe(2);
	});

	it("keeps keys apart", () => {
		const limiter = new FailureLimiter({ burst: 1, perSecond: 1 }, 100, clock);
		limiter.fail("a");
		expect(limiter.retryAfter("a")).toBe(1);
		expect(limiter.retryAfter("b")).toBe(0);
	});

	it("forgets a key once its bucket is full again", () => {
		const limiter = new FailureLimiter({ burst: 2, perSecond: 1 }, 100, clock);
		limiter.fail("a");
		limiter.fail("a");
		expect(limiter.size).toBe(1);
		now += 2000;
		expect(limiter.retryAfter("a")).toBe(0);
		expect(limiter.size).toBe(0);
	});

	it("never refills past the burst, however long a key was quiet", () => {
		const limiter = new FailureLimiter({ burst: 2, perSecond: 1 }, 100, clock);
		limiter.fail("a");
		now += 3_600_000;
		limiter.fail("a");
		limiter.fail("a");
		expect(limiter.retryAfter("a")).toBe(1);
	});

	it("keeps at most maxKeys and never evicts a drained key: new keys share an overflow bucket", () => {
		const limiter = new FailureLimiter({ burst: 1, perSecond: 0.001 }, 3, clock);
		for (const key of ["a", "b", "c"]) limiter.fail(key);
		// An attacker cycling through fresh addresses does not flush "a" out of the limiter.
		for (let i = 0; i < 1000; i++) limiter.fail(`flood-${i}`);
		expect(limiter.size).toBe(4);
		for (const key of ["a", "b", "c"]) expect(limiter.retryAfter(key)).toBeGreaterThan(0);
		expect(limiter.retryAfter("a-new-one")).toBeGreaterThan(0);
	});

	it("refuses a limit that would never let anything fail or refill", () => {
		expect(() => new FailureLimiter({ burst: 0, perSecond: 1 })).toThrow();
		expect(() => new FailureLimiter({ burst: 5, perSecond: 0 })).toThrow();
	});
});
