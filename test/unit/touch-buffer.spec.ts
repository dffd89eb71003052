import { TouchBuffer } from "../../lib/touch-buffer";

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
		finish();
		await flushing;
		expect(buffer.pending("a")).toBeUndefined();
	});
});
