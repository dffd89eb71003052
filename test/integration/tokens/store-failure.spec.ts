/**
 * The embedded store failing under a running `tokens` service: its data file becomes unwritable (a
 * full disk, simulated by pointing tokens.db at /dev/full, which refuses every write with ENOSPC even
 * for root), then comes back. Reads are served from NeDB's memory, so "store failure" here means the
 * node cannot write: every write must fail with a retryable 503 and change nothing, and every read
 * must keep answering the truth.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Errors, type ServiceBroker } from "moleculer";
import TokensService from "../../../services/tokens/tokens.service";
import { type TokenEntity } from "../../../lib/tokens/token-types";
import { STORE_UNAVAILABLE } from "../../../lib/store/store-errors";
import { createTestBroker, removeDir, startService, tempDataDir } from "../../helpers/broker";
import { CapturingLogger } from "../../helpers/logs";
import { rejection, later } from "../../helpers/async";
import { DiskFull, expectStoreUnavailable } from "../../helpers/disk-full";

type Generated = TokenEntity & { token: string };

describe("tokens when the embedded store cannot write", () => {
	let dataDir: string;
	let broker: ServiceBroker;
	let logs: CapturingLogger;
	let disk: DiskFull;

	async function start(options: Parameters<typeof createTestBroker>[0] = {}) {
		logs = new CapturingLogger();
		broker = await startService(
			TokensService,
			{ dataDir },
			{ logger: logs, logLevel: "info", ...options }
		);
	}

	const generate = (owner = "alice") =>
		broker.call<Generated, object>("tokens.generate", { type: "api-key", owner });
	const check = (token: string, isUsed = false) =>
		broker.call<TokenEntity | null, object>("tokens.check", { type: "api-key", token, isUsed });

	beforeEach(async () => {
		dataDir = tempDataDir();
		disk = new DiskFull(dataDir, "tokens.db");
		await start();
	});

	afterEach(async () => {
		disk.stop();
		await broker.stop();
		removeDir(dataDir);
	});

	it("generate answers a retryable 503 without the cause, leaves no half-written token, and logs the cause", async () => {
		const before = await generate();
		disk.start();
		const err = await rejection(generate());
		expectStoreUnavailable(err, dataDir);
		expect(logs.text()).toMatch(/tokens\.generate failed: .*ENOSPC/);

		// The failed token exists nowhere: not listed, not counted.
		const listed = await broker.call<TokenEntity[], object>("tokens.listByOwner", {
			owner: "alice"
		});
		expect(listed.map(t => t.id)).toEqual([before.id]);
		expect(await broker.call("tokens.stats")).toEqual({ "api-key": { live: 1, expired: 0 } });

		disk.stop();
		const after = await generate();
		expect(await check(after.token)).toMatchObject({ id: after.id });
	});

	it("check keeps answering from memory: valid for a stored token, null for an unknown one", async () => {
		const stored = await generate();
		const removed = await generate();
		await broker.call("tokens.remove", { type: "api-key", token: removed.token });
		disk.start();
		expect(await check(stored.token)).toMatchObject({ id: stored.id });
		expect(await check(removed.token)).toBeNull();
		// isUsed: the answer does not wait for the "last used" write, whose failure is only logged.
		expect(await check(stored.token, true)).toMatchObject({ id: stored.id });
		const service = broker.getLocalService("tokens") as unknown as {
			touches: { flush(): Promise<void> };
		};
		await service.touches.flush();
		expect(logs.text()).toMatch(/Could not record the last use of tokens/);
		expect(await check(stored.token)).toMatchObject({ id: stored.id });
	});

	it.each<[string, (g: Generated) => [string, object]]>([
		["consume", g => ["tokens.consume", { type: "api-key", token: g.token }]],
		["remove", g => ["tokens.remove", { type: "api-key", token: g.token }]],
		["revoke", g => ["tokens.revoke", { id: g.id, owner: g.owner }]],
		["removeByOwner", g => ["tokens.removeByOwner", { owner: g.owner }]]
	])(
		"a failed %s changes nothing: the token stays valid, before and after a restart, and the next try after the disk is back succeeds once",
		async (_name, callFor) => {
			const g = await generate();
			const [action, params] = callFor(g);
			disk.start();
			// remove, revoke and removeByOwner are retried on a 503 (consume never is): every
			// attempt must see the token still there and fail the same way, not answer "not found".
			expectStoreUnavailable(await rejection(broker.call(action, params)), dataDir);
			expect(await check(g.token)).toMatchObject({ id: g.id });
			disk.stop();

			await broker.stop();
			await start();
			expect(await check(g.token)).toMatchObject({ id: g.id });
			const done = await broker.call(action, params);
			expect(done).not.toBeNull();
			expect(await check(g.token)).toBeNull();
			expect(await broker.call(action, params)).toEqual(
				action === "tokens.removeByOwner" ? { removed: 0 } : null
			);
		}
	);

	it("a failed cleanup removes nothing; the next one removes every expired token", async () => {
		for (let i = 0; i < 5; i++) {
			await broker.call("tokens.generate", { type: "verification", owner: "x", expiry: 1 });
		}
		await later(5000, async () => {
			disk.start();
			expectStoreUnavailable(
				await rejection(broker.call("tokens.removeExpired", {})),
				dataDir
			);
			expect(await broker.call("tokens.stats")).toEqual({
				verification: { live: 0, expired: 5 }
			});
			disk.stop();
			expect(await broker.call("tokens.removeExpired", {})).toEqual({ removed: 5 });
		});
	});

	it("after the outage a restart finds exactly the acknowledged tokens, and the data file loads cleanly", async () => {
		const acknowledged: Generated[] = [];
		for (let i = 0; i < 20; i++) acknowledged.push(await generate());
		disk.start();
		// Fewer failures than successes, so the circuit breaker (tested below) stays closed.
		const failed = await Promise.allSettled(Array.from({ length: 8 }, () => generate()));
		expect(failed.every(r => r.status === "rejected")).toBe(true);
		disk.stop();
		for (let i = 0; i < 10; i++) acknowledged.push(await generate());

		await broker.stop();
		await start();
		const listed = await broker.call<TokenEntity[], object>("tokens.listByOwner", {
			owner: "alice"
		});
		expect(listed.map(t => t.id).sort()).toEqual(acknowledged.map(t => t.id).sort());
		for (const g of acknowledged) expect(await check(g.token)).toMatchObject({ id: g.id });
		// Every line of the file parses (NeDB would tolerate up to 10% corrupt lines silently).
		for (const line of readFileSync(join(dataDir, "tokens.db"), "utf8").split("\n")) {
			if (line !== "") expect(() => JSON.parse(line)).not.toThrow();
		}
	});

	describe("the circuit breaker, for calls within one node", () => {
		it("opens after the failures and fails fast; reads stay up; it closes when the store is back", async () => {
			await broker.stop();
			await start({
				circuitBreaker: {
					enabled: true,
					threshold: 0.5,
					minRequestCount: 20,
					windowTime: 60,
					halfOpenTime: 300,
					check: (err: Error) => ((err as Errors.MoleculerError).code ?? 500) >= 500
				}
			});
			const live = await generate();
			disk.start();
			const codes: (number | string)[] = [];
			for (let i = 0; i < 25; i++) {
				const err = await rejection(generate());
				codes.push(err.type ?? err.code);
			}
			// It trips once 20 calls were counted with at least half failing: the successful
			// generate above and 19 failures. Later calls fail fast without reaching the service.
			expect(codes.slice(0, 19)).toEqual(Array(19).fill(STORE_UNAVAILABLE));
			expect(codes.slice(19)).toEqual(Array(6).fill("SERVICE_NOT_AVAILABLE"));
			const t0 = performance.now();
			await rejection(generate());
			expect(performance.now() - t0).toBeLessThan(50);
			// The breaker keeps one state per action endpoint: checks still work.
			expect(await check(live.token)).toMatchObject({ id: live.id });

			disk.stop();
			await new Promise(resolve => setTimeout(resolve, 400)); // past halfOpenTime
			const recovered = await generate();
			expect(await check(recovered.token)).toMatchObject({ id: recovered.id });
			for (let i = 0; i < 5; i++) await generate();
		});
	});
});
