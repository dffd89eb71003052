import * as deadline from "../../../lib/broker/shared-deadline.middleware";

describe("remainingDeadline", () => {
	const at = (ms: number): [number, number] => [Math.floor(ms / 1000), (ms % 1000) * 1e6];

	it("is what is left of the nearest caller above with a timeout and a running clock", () => {
		const root = { options: { timeout: 1000 }, startHrTime: at(5000) };
		const untimed = { options: { timeout: 0, parentCtx: root } };
		expect(deadline.remainingDeadline(untimed, at(5300))).toBeCloseTo(700, 6);
		const nearer = { options: { timeout: 200, parentCtx: root }, startHrTime: at(5200) };
		expect(deadline.remainingDeadline(nearer, at(5300))).toBeCloseTo(100, 6);
	});

	it("is null when no caller above has a deadline armed here", () => {
		expect(deadline.remainingDeadline(undefined)).toBeNull();
		const remote = { options: { timeout: 1000 }, startHrTime: null };
		expect(deadline.remainingDeadline({ options: { parentCtx: remote } })).toBeNull();
	});

	it("goes negative once the deadline has passed", () => {
		const root = { options: { timeout: 100 }, startHrTime: at(0) };
		expect(deadline.remainingDeadline(root, at(150))).toBeCloseTo(-50, 6);
	});
});

describe("callTimeout", () => {
	it("gives a call that stays in the process no timer unless it asked for less time", () => {
		expect(deadline.callTimeout(700, 700, true)).toBe(0);
		expect(deadline.callTimeout(undefined, 700, true)).toBe(0);
		expect(deadline.callTimeout(10_000, 700, true)).toBe(0);
		expect(deadline.callTimeout(50, 700, true)).toBe(50);
	});

	it("gives a call leaving the process what is left of the deadline, or less if it asked", () => {
		expect(deadline.callTimeout(undefined, 700, false)).toBe(700);
		expect(deadline.callTimeout(10_000, 700, false)).toBe(700);
		expect(deadline.callTimeout(50, 700, false)).toBe(50);
	});

	it("leaves the call alone when no deadline runs above it", () => {
		expect(deadline.callTimeout(undefined, null, true)).toBeUndefined();
		expect(deadline.callTimeout(300, null, false)).toBe(300);
	});
});
