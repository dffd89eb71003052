import { TouchBuffer } from "../../../lib/tokens/touch-buffer";

describe("TouchBuffer", () => {
	beforeEach(() => jest.useFakeTimers());
	afterEach(() => jest.useRealTimers());

	it("writes each id once per flush interval, together", async () => {
		const writes: string[][] = [];
		const buffer = new TouchBuffer(
			async ids => void writes.push(ids),
			1000,
			() => {}
		);
		buffer.add("a", 1);
		buffer.add("b", 2);
		buffer.add("a", 3);
		expect(buffer.pending("a")).toBe(1);
		expect(writes).toEqual([]);
		await jest.advanceTimersByTimeAsync(1000);
		expect(writes).toEqual([["a", "b"]]);
		expect(buffer.pending("a")).toBeUndefined();
		buffer.add("c", 4);
		await jest.advanceTimersByTimeAsync(999);
		expect(writes).toHaveLength(1);
		await jest.advanceTimersByTimeAsync(1);
		expect(writes).toEqual([["a", "b"], ["c"]]);
	});

	it("flushes on demand and reports write errors instead of throwing", async () => {
		const errors: unknown[] = [];
		const buffer = new TouchBuffer(
			async () => {
				throw new Error("store down");
			},
			1000,
			err => errors.push(err)
		);
		buffer.add("x", 1);
		await buffer.flush();
		expect(errors).toHaveLength(1);
		expect(buffer.size).toBe(0);
		await buffer.flush(); // nothing pending: no write
		expect(errors).toHaveLength(1);
	});
});

describe("TouchBuffer while writing", () => {
	it("keeps marks visible until their write completes", async () => {
		let finish: () => void = () => {};
		const buffer = new TouchBuffer(
			() => new Promise<void>(resolve => (finish = resolve)),
			1000,
			() => {}
		);
		buffer.add("a", 5);
		const flushing = buffer.flush();
		expect(buffer.size).toBe(0);
		expect(buffer.pending("a")).toBe(5);
		await Promise.resolve(); // the write starts after the writes before it (none here)
		expect(buffer.pending("a")).toBe(5);
		finish();
		await flushing;
		expect(buffer.pending("a")).toBeUndefined();
	});

	it("resolves a flush only after the write already running (a stop waits for the timer's write)", async () => {
		const finishers: (() => void)[] = [];
		const started: string[][] = [];
		const buffer = new TouchBuffer(
			ids => {
				started.push(ids);
				return new Promise<void>(resolve => finishers.push(resolve));
			},
			1000,
			() => {}
		);
		buffer.add("a", 1);
		const first = buffer.flush();
		let stopped = false;
		// Nothing pending now, but the first write is still running.
		const stop = buffer.flush().then(() => (stopped = true));
		await Promise.resolve();
		await Promise.resolve();
		expect(stopped).toBe(false);
		// A later batch is written after the running one, not beside it.
		buffer.add("b", 2);
		const second = buffer.flush();
		await Promise.resolve();
		expect(started).toEqual([["a"]]);
		finishers[0]();
		await first;
		await stop;
		expect(stopped).toBe(true);
		await new Promise(resolve => setImmediate(resolve));
		expect(started).toEqual([["a"], ["b"]]);
		finishers[1]();
		await second;
		expect(buffer.pending("b")).toBeUndefined();
	});
});
