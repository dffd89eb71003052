import { setTimeout as sleep } from "node:timers/promises";
import * as failover from "../../../lib/broker/failover";

const FAST = { probeAfter: 20, probeTimeout: 15, recheckEvery: 30 };

/** A ping that answers for the nodes in `alive`, after 2 ms; null (no PONG) for the others. */
function pinger(alive: Set<string>) {
	const pinged: string[] = [];
	const ping = async (nodeID: string, timeout: number) => {
		pinged.push(nodeID);
		await sleep(alive.has(nodeID) ? 2 : timeout);
		return alive.has(nodeID) ? { nodeID } : null;
	};
	return { ping, pinged };
}

const never = () => new Promise<never>(() => undefined);
const unresponsive = () => new Error("unresponsive");

describe("NodeHealth", () => {
	it("passes a call that answers in time through, without a ping", async () => {
		const { ping, pinged } = pinger(new Set());
		const health = new failover.NodeHealth(ping, FAST);
		await expect(health.watch("a", Promise.resolve(42), unresponsive)).resolves.toBe(42);
		await expect(
			health.watch("a", Promise.reject(new Error("no")), unresponsive)
		).rejects.toThrow("no");
		expect(pinged).toEqual([]);
		health.stop();
	});

	it("lets a slow call of a node that answers its ping wait on", async () => {
		const { ping, pinged } = pinger(new Set(["slow"]));
		const health = new failover.NodeHealth(ping, FAST);
		const slow = sleep(80).then(() => "done");
		await expect(health.watch("slow", slow, unresponsive)).resolves.toBe("done");
		expect(pinged.length).toBeGreaterThanOrEqual(1);
		expect(health.isSuspect("slow")).toBe(false);
		health.stop();
	});

	it("gives up every call waiting on a node that does not answer, with one ping, and suspects it", async () => {
		const { ping, pinged } = pinger(new Set());
		const health = new failover.NodeHealth(ping, FAST);
		const gaveUp: string[] = [];
		const started = Date.now();
		const calls = Array.from({ length: 10 }, (_, i) =>
			health.watch("dead", never(), unresponsive, () => gaveUp.push(`c${i}`))
		);
		const results = await Promise.allSettled(calls);
		expect(Date.now() - started).toBeLessThan(200);
		expect(results.every(r => r.status === "rejected")).toBe(true);
		expect(gaveUp).toHaveLength(10);
		expect(pinged).toEqual(["dead"]);
		expect(health.isSuspect("dead")).toBe(true);
		health.stop();
	});

	it("trusts a suspect node again when it answers a later ping, or when told to forget it", async () => {
		const alive = new Set<string>();
		const { ping } = pinger(alive);
		const health = new failover.NodeHealth(ping, FAST);
		await expect(health.watch("back", never(), unresponsive)).rejects.toThrow("unresponsive");
		expect(health.isSuspect("back")).toBe(true);
		alive.add("back");
		await sleep(80);
		expect(health.isSuspect("back")).toBe(false);

		alive.delete("back");
		await expect(health.watch("back", never(), unresponsive)).rejects.toThrow("unresponsive");
		health.forget("back");
		expect(health.isSuspect("back")).toBe(false);
		health.stop();
	});

	it("leaves a call to a node already suspect to the call itself", async () => {
		const { ping } = pinger(new Set());
		const health = new failover.NodeHealth(ping, FAST);
		await expect(health.watch("dead", never(), unresponsive)).rejects.toThrow();
		await expect(health.watch("dead", Promise.resolve("late"), unresponsive)).resolves.toBe(
			"late"
		);
		health.stop();
	});

	it("answers a retryable 503 naming the action and node, never more", () => {
		const err = failover.nodeUnresponsive("tokens.check", "node-2");
		expect(err).toMatchObject({ code: 503, type: "NODE_UNRESPONSIVE", retryable: true });
		expect(err.data).toEqual({ action: "tokens.check", nodeID: "node-2" });
	});
});
