import { Transporters } from "moleculer";
import NatsWriteBatchingMiddleware, {
	batchPerTurn
} from "../../../lib/broker/nats-write-batching.middleware";

type Send = (topic: string, data: Buffer, meta: object) => Promise<void>;

describe("batchPerTurn", () => {
	it("hands one turn's packets to the transporter together, in order, after the turn", async () => {
		const sent: string[] = [];
		const flushes: number[] = [];
		let turnNumber = 0;
		const send = batchPerTurn(async topic => {
			sent.push(topic);
			flushes.push(turnNumber);
		});
		const first = [send("a", Buffer.from("1"), {}), send("b", Buffer.from("2"), {})];
		await Promise.resolve();
		// Still queued: microtasks of the same turn may add more.
		expect(sent).toEqual([]);
		const third = send("c", Buffer.from("3"), {});
		await Promise.all([...first, third]);
		expect(sent).toEqual(["a", "b", "c"]);
		turnNumber = 1;
		await send("d", Buffer.from("4"), {});
		expect(sent).toEqual(["a", "b", "c", "d"]);
		// a, b and c went out in one flush, d in the next.
		expect(flushes).toEqual([0, 0, 0, 1]);
	});

	it("settles each send with the transporter's result, thrown or rejected", async () => {
		const send = batchPerTurn((topic: string) => {
			if (topic === "throws") throw new Error("connection closed");
			if (topic === "rejects") return Promise.reject(new Error("write failed"));
			return Promise.resolve();
		});
		const results = await Promise.allSettled([
			send("ok", Buffer.alloc(0), {}),
			send("throws", Buffer.alloc(0), {}),
			send("rejects", Buffer.alloc(0), {}),
			send("ok again", Buffer.alloc(0), {})
		]);
		expect(results.map(r => r.status)).toEqual([
			"fulfilled",
			"rejected",
			"rejected",
			"fulfilled"
		]);
		expect((results[1] as PromiseRejectedResult).reason.message).toBe("connection closed");
		expect((results[2] as PromiseRejectedResult).reason.message).toBe("write failed");
	});
});

describe("NatsWriteBatchingMiddleware", () => {
	const hook = (
		NatsWriteBatchingMiddleware as unknown as {
			transporterSend(this: unknown, next: Send): Send;
		}
	).transporterSend;

	it("batches the NATS transporter's sends and leaves other transporters alone", async () => {
		const calls: string[] = [];
		const next: Send = async topic => void calls.push(topic);
		const nats = new Transporters.NATS("nats://127.0.0.1:4222");
		const fake = new Transporters.Fake();

		expect(hook.call(fake, next)).toBe(next);
		const batched = hook.call(nats, next);
		expect(batched).not.toBe(next);
		const pending = batched("x", Buffer.alloc(0), {});
		expect(calls).toEqual([]);
		await pending;
		expect(calls).toEqual(["x"]);
	});
});
