/**
 * The shared-deadline middleware on real brokers built from moleculer.config.ts: calls that stay in
 * the process run on their caller's deadline, calls that leave it keep a timer of their own.
 */
import { Errors, type Context, type ServiceBroker } from "moleculer";
import { createTestBroker } from "../../helpers/broker";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../../helpers/nats";
import { rejection } from "../../helpers/async";
import { setTimeout as sleep } from "node:timers/promises";

/** Records each leaf call's own timeout (0: no timer of its own). */
function leafService(name: string, seen: number[]) {
	return {
		name,
		actions: {
			echo(ctx: Context) {
				seen.push(ctx.options.timeout ?? -1);
				return "leaf";
			},
			hang: () => sleep(2000).then(() => "late")
		}
	};
}

function callerService(leaf: string) {
	return {
		name: "caller",
		actions: {
			viaMiddle: (ctx: Context) => ctx.call("caller.middle"),
			middle: (ctx: Context) => ctx.call(`${leaf}.echo`),
			hangs: (ctx: Context) => ctx.call(`${leaf}.hang`),
			async fallsBack(ctx: Context) {
				try {
					return await ctx.call(`${leaf}.hang`, {}, { timeout: 50 });
				} catch (err) {
					return err instanceof Errors.RequestTimeoutError ? "fell back" : "other";
				}
			},
			async lateLeaf(ctx: Context) {
				await sleep(150);
				return ctx.call(`${leaf}.echo`);
			},
			viaLate: (ctx: Context) => ctx.call("caller.lateLeaf")
		}
	};
}

describe("shared deadline, one process", () => {
	let broker: ServiceBroker;
	const seen: number[] = [];

	beforeAll(async () => {
		broker = createTestBroker({ nodeID: "deadline-local" });
		broker.createService(leafService("leaf", seen));
		broker.createService(callerService("leaf"));
		await broker.start();
	});
	afterAll(() => broker.stop());
	beforeEach(() => (seen.length = 0));

	it("runs calls that stay here without a timer of their own", async () => {
		await expect(broker.call("caller.viaMiddle", {}, { timeout: 1000 })).resolves.toBe("leaf");
		expect(seen).toEqual([0]);
	});

	it("still times the request out at its caller's deadline", async () => {
		const started = Date.now();
		const err = await rejection(broker.call("caller.hangs", {}, { timeout: 200 }));
		expect(err).toBeInstanceOf(Errors.RequestTimeoutError);
		// Not before the deadline (the hanging call would answer after 2 s with no timer at all).
		expect(Date.now() - started).toBeGreaterThanOrEqual(190);
	});

	it("keeps a shorter timeout a caller asks for, so the caller can fall back", async () => {
		await expect(broker.call("caller.fallsBack", {}, { timeout: 1000 })).resolves.toBe(
			"fell back"
		);
	});

	it("skips a call made after the deadline above it has passed", async () => {
		const err = await rejection(broker.call("caller.viaLate", {}, { timeout: 100 }));
		expect(err).toBeInstanceOf(Errors.RequestTimeoutError);
		await sleep(200);
		// The late call never ran: moleculer skips calls whose caller has no time left.
		expect(seen).toEqual([]);
	});

	it("leaves calls without a deadline above them to moleculer's defaults", async () => {
		await expect(broker.call("leaf.echo")).resolves.toBe("leaf");
		expect(seen).toEqual([broker.options.requestTimeout]);
	});
});

describeWithNats("shared deadline, two nodes over NATS", () => {
	let caller: ServiceBroker;
	let remote: ServiceBroker;
	const seen: number[] = [];

	beforeAll(async () => {
		const namespace = uniqueNamespace("deadline");
		const transporter = natsTransporter();
		remote = createTestBroker({ nodeID: "deadline-remote", namespace, transporter });
		remote.createService(leafService("remoteLeaf", seen));
		caller = createTestBroker({ nodeID: "deadline-caller", namespace, transporter });
		caller.createService(callerService("remoteLeaf"));
		await Promise.all([remote.start(), caller.start()]);
		await caller.waitForServices(["remoteLeaf"], 10_000);
	});
	afterAll(() => Promise.all([caller.stop(), remote.stop()]));
	beforeEach(() => (seen.length = 0));

	it("gives a call leaving the process what is left of the deadline as its own timeout", async () => {
		await expect(caller.call("caller.viaMiddle", {}, { timeout: 1000 })).resolves.toBe("leaf");
		expect(seen).toHaveLength(1);
		expect(seen[0]).toBeGreaterThan(0);
		expect(seen[0]).toBeLessThanOrEqual(1000);
	});

	it("still ends a hanging remote call in a timeout", async () => {
		const err = await rejection(caller.call("caller.hangs", {}, { timeout: 200 }));
		expect(err).toBeInstanceOf(Errors.RequestTimeoutError);
	});
});
