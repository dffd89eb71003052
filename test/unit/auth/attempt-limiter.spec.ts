import fc from "fast-check";
import { AttemptLimiter } from "../../../lib/auth/sign-in-attempts/attempt-limiter";

const MINUTE = 60_000;

function limiter(maxAttempts = 5, windowMs = 15 * MINUTE, maxKeys?: number) {
	const clock = { now: 1_000_000 };
	const l = new AttemptLimiter({ maxAttempts, windowMs, now: () => clock.now, maxKeys });
	return { l, clock };
}

describe("AttemptLimiter", () => {
	it("allows maxAttempts per window, then refuses with the time until the oldest leaves", () => {
		const { l, clock } = limiter(5);
		for (let i = 0; i < 5; i++) {
			expect(l.hit("alice")).toEqual({ allowed: true, retryAfterMs: 0 });
			clock.now += MINUTE;
		}
		// First attempt at t0, now t0 + 5 min: it leaves the window 10 min from now.
		expect(l.hit("alice")).toEqual({ allowed: false, retryAfterMs: 10 * MINUTE });
		expect(l.remaining("alice")).toBe(0);
	});

	it("slides: each attempt leaves the window on its own, no burst at a boundary", () => {
		const { l, clock } = limiter(2, 10 * MINUTE);
		l.hit("k"); // t=0
		clock.now += 6 * MINUTE;
		l.hit("k"); // t=6
		clock.now += 3 * MINUTE; // t=9: both inside
		expect(l.hit("k").allowed).toBe(false);
		clock.now += MINUTE; // t=10: the first left
		expect(l.hit("k").allowed).toBe(true);
		expect(l.hit("k").allowed).toBe(false);
		clock.now += 6 * MINUTE; // t=16: the one at t=6 left
		expect(l.remaining("k")).toBe(1);
	});

	it("refused attempts do not extend the lock-out", () => {
		const { l, clock } = limiter(1, 10 * MINUTE);
		l.hit("k");
		for (let i = 0; i < 9; i++) {
			clock.now += MINUTE;
			expect(l.hit("k").allowed).toBe(false);
		}
		clock.now += MINUTE;
		expect(l.hit("k").allowed).toBe(true);
	});

	it("keeps keys apart and forgets one on reset", () => {
		const { l } = limiter(1);
		expect(l.hit("alice").allowed).toBe(true);
		expect(l.hit("bob").allowed).toBe(true);
		expect(l.hit("alice").allowed).toBe(false);
		l.reset("alice");
		expect(l.hit("alice").allowed).toBe(true);
		expect(l.hit("bob").allowed).toBe(false);
	});

	it("prunes keys whose attempts all left the window", () => {
		const { l, clock } = limiter(3, MINUTE);
		l.hit("old");
		clock.now += 30_000;
		l.hit("recent");
		clock.now += 40_000;
		expect(l.prune()).toBe(1);
		expect(l.size).toBe(1);
		expect(l.remaining("recent")).toBe(2);
	});

	it("bounds memory without evicting: beyond maxKeys new keys share one overflow budget", () => {
		const { l } = limiter(1, MINUTE, 2);
		l.hit("a");
		l.hit("b");
		// A flood of new keys cannot push a refused key out and so hand it a fresh budget.
		expect(l.hit("c").allowed).toBe(true);
		for (const key of ["d", "e", "f"]) expect(l.hit(key).allowed).toBe(false);
		expect(l.remaining("a")).toBe(0);
		expect(l.remaining("b")).toBe(0);
		expect(l.size).toBe(3);
	});

	it("refuses nonsense options", () => {
		expect(() => new AttemptLimiter({ maxAttempts: 0, windowMs: 1 })).toThrow();
		expect(() => new AttemptLimiter({ maxAttempts: 1.5, windowMs: 1 })).toThrow();
		expect(() => new AttemptLimiter({ maxAttempts: 1, windowMs: 0 })).toThrow();
	});

	it("never allows more than maxAttempts in any window (property)", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 6 }),
				fc.integer({ min: 1, max: 100 }),
				fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }),
				(max, windowMs, gaps) => {
					const clock = { now: 0 };
					const l = new AttemptLimiter({
						maxAttempts: max,
						windowMs,
						now: () => clock.now
					});
					const allowedAt: number[] = [];
					for (const gap of gaps) {
						clock.now += gap;
						if (l.hit("k").allowed) allowedAt.push(clock.now);
					}
					for (const t of allowedAt) {
						const inWindow = allowedAt.filter(u => u > t - windowMs && u <= t);
						if (inWindow.length > max) return false;
					}
					return true;
				}
			)
		);
	});
});
