import { HashGate, HashGateFullError } from "../../../lib/auth/hash-gate";

function deferred() {
	let resolve!: () => void;
	const promise = new Promise<void>(r => (resolve = r));
	return { promise, resolve };
}

describe("HashGate", () => {
	it("runs at most `concurrency` tasks at once and queues the next ones in order", async () => {
		const gate = new HashGate({ concurrency: 2, queue: 10 });
		const started: number[] = [];
		const blockers = [0, 1, 2, 3].map(() => deferred());
		const runs = blockers.map((b, i) =>
			gate.run(async () => {
				started.push(i);
				await b.promise;
				return i;
			})
		);
		await new Promise(r => setImmediate(r));
		expect(started).toEqual([0, 1]);
		expect(gate.load).toEqual({ running: 2, waiting: 2 });
		blockers[1].resolve();
		await runs[1];
		await new Promise(r => setImmediate(r));
		expect(started).toEqual([0, 1, 2]);
		blockers[0].resolve();
		blockers[2].resolve();
		blockers[3].resolve();
		expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
		expect(gate.load).toEqual({ running: 0, waiting: 0 });
	});

	it("refuses at once when the queue is full, with a retry time", async () => {
		const gate = new HashGate({ concurrency: 1, queue: 1, retryAfterSeconds: 2 });
		const block = deferred();
		const first = gate.run(() => block.promise);
		const second = gate.run(() => Promise.resolve("queued"));
		const refused = await gate.run(() => Promise.resolve("never")).catch(e => e);
		expect(refused).toBeInstanceOf(HashGateFullError);
		expect((refused as HashGateFullError).retryAfterSeconds).toBe(2);
		block.resolve();
		await first;
		expect(await second).toBe("queued");
	});

	it("frees the slot when a task fails", async () => {
		const gate = new HashGate({ concurrency: 1, queue: 0 });
		await expect(gate.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
		expect(await gate.run(() => Promise.resolve(1))).toBe(1);
		expect(gate.load).toEqual({ running: 0, waiting: 0 });
	});
});
