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

/** Calls waiting for an answer, as the transporter keeps them. */
function transporter() {
	const pending = new Map<object, failover.PendingCall & { action: string }>();
	return {
		pending: () => pending.entries(),
		send(nodeID: string) {
			const key = {};
			const outcome: { error: Error | null } = { error: null };
			pending.set(key, {
				nodeID,
				action: "tokens.check",
				giveUp(err) {
					pending.delete(key);
					outcome.error = err;
				}
			});
			return { outcome, answer: () => pending.delete(key) };
		},
		get size() {
			return pending.size;
		}
	};
}

describe("NodeHealth", () => {
	let health: failover.NodeHealth;
	afterEach(() => health?.stop());

	it("pings nobody while calls are answered in time", async () => {
		const { ping, pinged } = pinger(new Set());
		const calls = transporter();
		health = new failover.NodeHealth(ping, calls.pending, FAST);
		health.start();
		for (let i = 0; i < 5; i++) {
			const call = calls.send("a");
			await sleep(5);
			call.answer();
		}
		await sleep(40);
		expect(pinged).toEqual([]);
	});

	it("lets a slow call of a node that answers its ping wait on, and pings it once per probeAfter", async () => {
		const { ping, pinged } = pinger(new Set(["slow"]));
		const calls = transporter();
		health = new failover.NodeHealth(ping, calls.pending, FAST);
		health.start();
		const call = calls.send("slow");
		await sleep(70);
		expect(call.outcome.error).toBeNull();
		expect(health.isSuspect("slow")).toBe(false);
		expect(pinged.length).toBeGreaterThanOrEqual(1);
		expect(pinged.length).toBeLessThanOrEqual(3);
		call.answer();
	});

	it("gives up every call waiting on a node that does not answer, with one ping, and suspects it", async () => {
		const { ping, pinged } = pinger(new Set());
		const calls = transporter();
		health = new failover.NodeHealth(ping, calls.pending, { ...FAST, recheckEvery: 5000 });
		health.start();
		const waiting = Array.from({ length: 10 }, () => calls.send("dead"));

		await sleep(80);
		for (const call of waiting) {
			expect(call.outcome.error).toMatchObject({ code: 503, type: "NODE_UNRESPONSIVE" });
		}
		expect(pinged.filter(n => n === "dead")).toEqual(["dead"]);
		expect(health.isSuspect("dead")).toBe(true);
		expect(calls.size).toBe(0);
	});

	it("trusts a suspect node again when it answers a later ping, or when told to forget it", async () => {
		const alive = new Set<string>();
		const { ping } = pinger(alive);
		const calls = transporter();
		health = new failover.NodeHealth(ping, calls.pending, FAST);
		health.start();
		calls.send("back");
		await sleep(60);
		expect(health.isSuspect("back")).toBe(true);
		alive.add("back");
		await sleep(60);
		expect(health.isSuspect("back")).toBe(false);

		alive.delete("back");
		calls.send("back");
		await sleep(60);
		expect(health.isSuspect("back")).toBe(true);
		health.forget("back");
		expect(health.isSuspect("back")).toBe(false);
	});

	it("answers a retryable 503 naming the action and node, never more", () => {
		const err = failover.nodeUnresponsive("tokens.check", "node-2");
		expect(err).toMatchObject({ code: 503, type: "NODE_UNRESPONSIVE", retryable: true });
		expect(err.data).toEqual({ action: "tokens.check", nodeID: "node-2" });
	});
});
