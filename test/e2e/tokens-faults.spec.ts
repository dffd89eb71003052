/**
 * The `tokens` service under faults, with real processes and a real NATS server of the suite's own
 * (never the shared one on 4222, which this suite stops and starts):
 *
 * 1. NATS goes down under a steady load of checks and comes back: callers get an error within a
 *    bound instead of hanging, service resumes by itself, and no acknowledged token is lost.
 * 2. The `tokens` node is killed (SIGKILL) under a load of generates, its last line torn: restarted on
 *    the same data folder, it starts, and every token whose generate was answered still checks.
 * 3. The store cannot write (a full disk): remote callers get a retryable 503, checks keep answering
 *    the truth, and the caller's circuit breaker opens, fails fast, and closes when the disk is back.
 * 4. Retries never spend twice: a timed-out `consume` is not retried by the caller's retry policy, and
 *    even when the caller sends it again, only one execution spends the token.
 *
 * Timing bounds are printed as they were measured.
 */
import { appendFileSync, existsSync, renameSync, symlinkSync, unlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Errors, type BrokerOptions, type Context, type ServiceBroker } from "moleculer";
import TokensService from "../../services/tokens/tokens.service";
import { type TokenEntity } from "../../lib/tokens/token-types";
import { STORE_UNAVAILABLE } from "../../lib/store/store-errors";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../helpers/broker";
import { natsTransporter, uniqueNamespace } from "../helpers/nats";
import {
	NatsServer,
	buildOnce,
	eventually,
	natsServerBinary,
	sleep,
	startNode,
	type NodeProcess
} from "../helpers/process";
import { rejection } from "../helpers/async";
import { loadLoops } from "../helpers/load";
import { describeRequiring } from "../helpers/requirements";

type Generated = TokenEntity & { token: string };

/** Short timeouts and heartbeats, so an outage shows within seconds (production: 10 s, 5 s/15 s). */
const REQUEST_TIMEOUT = 2000;
const HEARTBEAT_INTERVAL = 1;
const HEARTBEAT_TIMEOUT = 3;

const binary = natsServerBinary();
function describeWithNatsServer(name: string, body: () => void): void {
	const requirement = {
		available: binary !== null,
		missing: "nats-server is not installed",
		requiredBy: "REQUIRE_NATS"
	};
	describeRequiring(requirement, name, body);
}

interface Sample {
	start: number;
	end: number;
	ok: boolean;
	error?: string;
}

/** `workers` callers, each calling `call` in a loop until `stop()`; every call recorded. */
function load(workers: number, call: () => Promise<unknown>) {
	return loadLoops<Sample>(workers, async () => {
		const start = Date.now();
		try {
			await call();
			return { start, end: Date.now(), ok: true };
		} catch (err) {
			const e = err as Errors.MoleculerError;
			const end = Date.now();
			await sleep(20); // a failing caller does not spin
			return { start, end, ok: false, error: e.type ?? e.name };
		}
	});
}

describeWithNatsServer("tokens under faults (own NATS server, separate processes)", () => {
	const salt = randomBytes(36).toString("base64url");
	let nats: NatsServer;
	let dataDir: string;
	let namespace: string;
	let node: NodeProcess | null = null;
	let caller: ServiceBroker | null = null;

	const nodeEnv = () => ({
		TRANSPORTER: nats.url,
		NAMESPACE: namespace,
		DATA_DIR: dataDir,
		TOKEN_SALT: salt,
		NODE_ENV: "production",
		LOGLEVEL: "info",
		TOKENS_CLEANUP_ENABLED: "false",
		REQUEST_TIMEOUT: String(REQUEST_TIMEOUT),
		HEARTBEAT_INTERVAL: String(HEARTBEAT_INTERVAL),
		HEARTBEAT_TIMEOUT: String(HEARTBEAT_TIMEOUT)
	});

	async function startTokensNode(env: Record<string, string> = {}): Promise<NodeProcess> {
		node = startNode("tokens-node", "tokens", { ...nodeEnv(), ...env });
		await node.waitForOutput(/ServiceBroker with \d+ service\(s\) started successfully/);
		return node;
	}

	async function startCaller(options: Partial<BrokerOptions> = {}): Promise<ServiceBroker> {
		caller = createTestBroker({
			namespace,
			nodeID: `caller-${randomBytes(3).toString("hex")}`,
			transporter: natsTransporter(nats.url),
			requestTimeout: REQUEST_TIMEOUT,
			heartbeatInterval: HEARTBEAT_INTERVAL,
			heartbeatTimeout: HEARTBEAT_TIMEOUT,
			// A call that timed out stays "in flight" for moleculer's context tracker (its answer
			// never comes), so a tracking caller would wait shutdownTimeout (10 s) when stopping.
			tracking: { enabled: false },
			...options
		});
		await caller.start();
		await caller.waitForServices(["tokens"], 20_000);
		return caller;
	}

	const generate = (broker: ServiceBroker, owner = "alice") =>
		broker.call<Generated, object>("tokens.generate", { type: "api-key", owner });
	const check = (broker: ServiceBroker, token: string) =>
		broker.call<TokenEntity | null, object>("tokens.check", { type: "api-key", token });

	beforeAll(async () => {
		buildOnce();
		nats = await NatsServer.start();
	}, 120_000);

	afterAll(async () => {
		await nats?.stop();
	});

	beforeEach(async () => {
		dataDir = tempDataDir("tokens-faults-");
		namespace = uniqueNamespace("faults");
	});

	afterEach(async () => {
		await caller?.stop();
		caller = null;
		const file = join(dataDir, "tokens.db");
		if (existsSync(`${file}.real`)) {
			unlinkSync(file);
			renameSync(`${file}.real`, file);
		}
		const output = node?.output() ?? "";
		await node?.stop("SIGTERM");
		node = null;
		removeDir(dataDir);
		// Whatever happened, the node never printed a token or the salt.
		expect(output).not.toContain(salt);
		expect(output).not.toMatch(/mtk_[0-9A-Za-z]{36}/);
	}, 30_000);

	it("NATS down under load: errors within a bound, resumes by itself, loses no acknowledged token", async () => {
		await startTokensNode();
		const broker = await startCaller();
		const acknowledged: Generated[] = [];
		for (let i = 0; i < 50; i++) acknowledged.push(await generate(broker));

		let wrongAnswers = 0;
		const checks = load(8, async () => {
			const g = acknowledged[Math.floor(Math.random() * acknowledged.length)];
			const found = await check(broker, g.token);
			if (!found || found.id !== g.id) wrongAnswers++;
		});
		await sleep(1000);
		const downAt = Date.now();
		await nats.stop();
		await sleep(6000); // past the heartbeat timeout: the caller drops the tokens node
		await nats.resume();
		const upAt = Date.now();
		await eventually(
			async () => checks.samples.some(s => s.ok && s.start >= upAt),
			30_000,
			"a check succeeding after NATS came back"
		);
		const resumedAt = Math.min(
			...checks.samples.filter(s => s.ok && s.start >= upAt).map(s => s.end)
		);
		await sleep(1000);
		await checks.stop();

		// Every call that overlapped the outage ended (answered or failed) within a bound.
		const overlapping = checks.samples.filter(s => s.start < upAt && s.end > downAt);
		const failures = overlapping.filter(s => !s.ok);
		expect(failures.length).toBeGreaterThan(0);
		const slowest = Math.max(...overlapping.map(s => s.end - s.start));
		const firstFailure = Math.min(...failures.map(s => s.end)) - downAt;
		const kinds = [...new Set(failures.map(s => s.error))].sort();
		console.log(
			`NATS outage of ${upAt - downAt} ms under ${checks.samples.length} checks: ` +
				`${failures.length} failed, the first ${firstFailure} ms into the outage; slowest ` +
				`call ${slowest} ms (request timeout ${REQUEST_TIMEOUT} ms, 2 retries); errors ` +
				`${kinds.join(", ")}; service back ${resumedAt - upAt} ms after NATS`
		);
		// requestTimeout, then the retry policy's two retries (100 + 200 ms delays) at most.
		expect(slowest).toBeLessThanOrEqual(3 * REQUEST_TIMEOUT + 300 + 1000);
		// NODE_UNRESPONSIVE: the caller pinged the node over the dead transporter, had no answer
		// and gave up on it at once (lib/broker/failover).
		for (const kind of kinds) {
			expect([
				"REQUEST_TIMEOUT",
				"REQUEST_REJECTED",
				"SERVICE_NOT_AVAILABLE",
				"NODE_UNRESPONSIVE"
			]).toContain(kind);
		}
		expect(resumedAt - upAt).toBeLessThan(10_000);
		// No answer was ever "invalid" for a valid token, and none was lost.
		expect(wrongAnswers).toBe(0);
		for (const g of acknowledged)
			expect(await check(broker, g.token)).toMatchObject({ id: g.id });
		expect(node!.child.exitCode).toBeNull();
	}, 60_000);

	it("SIGKILL under a load of generates, torn last line: restarts, every answered generate still checks", async () => {
		await startTokensNode();
		const broker = await startCaller();
		const acknowledged: Generated[] = [];
		let owner = 0;
		const generates = load(16, async () =>
			acknowledged.push(await generate(broker, `o${owner++ % 50}`))
		);
		await sleep(1500);
		await node!.stop("SIGKILL");
		const killedAt = Date.now();
		await sleep(300);
		await generates.stop();
		const answered = acknowledged.length;
		expect(answered).toBeGreaterThan(50);
		// The worst a kill can leave: half a line at the end of the data file.
		appendFileSync(join(dataDir, "tokens.db"), '{"_id":"torn","type":"api-key","own');

		const restartMark = Math.round(process.uptime());
		await startTokensNode();
		await eventually(
			async () => (await check(broker, acknowledged[0].token)) !== null,
			20_000,
			"the restarted tokens node answering"
		);
		const answeringAfter = Date.now() - killedAt;
		// Same NODEID: the caller takes the new instance's INFO for the old node's, whose last
		// heartbeat is stale, so its heartbeat check may drop it once more until the new instance's
		// first heartbeat arrives (moleculer 0.15). Wait for that heartbeat.
		await eventually(
			async () => {
				const seen = broker.registry.nodes.get("tokens-node");
				return Boolean(seen?.available && seen.lastHeartbeatTime > restartMark);
			},
			10_000,
			"a heartbeat from the restarted node"
		);
		console.log(
			`SIGKILL: ${answered} generates answered before the kill; the restarted node ` +
				`answered ${answeringAfter} ms after the kill, steadily after ${Date.now() - killedAt} ms`
		);
		for (const g of acknowledged)
			expect(await check(broker, g.token)).toMatchObject({ id: g.id });
		const stats = await broker.call<Record<string, { live: number }>>("tokens.stats");
		expect(stats["api-key"].live).toBeGreaterThanOrEqual(answered);
	}, 60_000);

	it("store cannot write: remote callers get a retryable 503, checks stay true, the circuit breakers open and close", async () => {
		const halfOpenTime = 1000;
		// The tokens node has a breaker of its own for its local endpoints (it trips too, and
		// answers SERVICE_NOT_AVAILABLE until it half-opens): shorten both.
		await startTokensNode({ CIRCUITBREAKER_HALFOPENTIME: String(halfOpenTime) });
		const broker = await startCaller({
			circuitBreaker: {
				enabled: true,
				threshold: 0.5,
				minRequestCount: 20,
				windowTime: 60,
				halfOpenTime,
				check: (err: Error) => ((err as Errors.MoleculerError).code ?? 500) >= 500
			}
		});
		const live = await generate(broker);
		const file = join(dataDir, "tokens.db");
		renameSync(file, `${file}.real`);
		symlinkSync("/dev/full", file); // ENOSPC on every write, even for root

		const first = await rejection(generate(broker));
		expect(first).toBeInstanceOf(Errors.MoleculerRetryableError);
		expect(first).toMatchObject({ code: 503, type: STORE_UNAVAILABLE, retryable: true });
		expect(JSON.stringify({ ...first, message: first.message })).not.toMatch(
			/ENOSPC|dev\/full|tokens\.db/
		);
		// check fails closed: the truth from memory, never "valid" for what is not there.
		expect(await check(broker, live.token)).toMatchObject({ id: live.id });
		const unknown = `mtk_${"A".repeat(36)}`;
		expect(await check(broker, unknown)).toBeNull();
		// A failed consume spends nothing.
		const consumed = await rejection(
			broker.call("tokens.consume", { type: "api-key", token: live.token })
		);
		expect(consumed).toMatchObject({ code: 503, type: STORE_UNAVAILABLE });
		expect(await check(broker, live.token)).toMatchObject({ id: live.id });

		// 1 success and 1 failure so far: 18 more failures make 20 calls, 19 failed → open.
		const types: string[] = [];
		for (let i = 0; i < 22; i++) types.push((await rejection(generate(broker))).type);
		expect(types.slice(0, 18)).toEqual(Array(18).fill(STORE_UNAVAILABLE));
		expect(types.slice(18)).toEqual(Array(4).fill("SERVICE_NOT_AVAILABLE"));
		const t0 = performance.now();
		const fast = await rejection(generate(broker));
		const fastMs = performance.now() - t0;
		expect(fast.type).toBe("SERVICE_NOT_AVAILABLE");
		expect(fastMs).toBeLessThan(50);
		// The breaker keeps a state per action endpoint: checks still go through.
		expect(await check(broker, live.token)).toMatchObject({ id: live.id });

		unlinkSync(file);
		renameSync(`${file}.real`, file);
		const backAt = Date.now();
		await eventually(
			async () => {
				await generate(broker);
				return true;
			},
			10_000,
			"generate working again"
		);
		const closedAfter = Date.now() - backAt;
		console.log(
			`Store failure over NATS: breaker open after 20 counted calls; open-breaker failure ` +
				`${fastMs.toFixed(1)} ms; generate working ${closedAfter} ms after the disk came back ` +
				`(halfOpenTime ${halfOpenTime} ms)`
		);
		expect(closedAfter).toBeLessThan(2 * halfOpenTime + 2000);
		for (let i = 0; i < 5; i++) await generate(broker);
		expect(
			await broker.call("tokens.consume", { type: "api-key", token: live.token })
		).toMatchObject({ id: live.id });
	}, 60_000);

	describe("retries never spend twice", () => {
		let slowNode: ServiceBroker;
		const executions: Record<string, number> = {};
		const spent: string[] = [];
		const DELAY = 800;

		beforeEach(async () => {
			for (const key of Object.keys(executions)) delete executions[key];
			spent.length = 0;
			// A `tokens` node whose handlers take DELAY ms: the caller's timeout fires first.
			slowNode = createTestBroker({
				namespace,
				nodeID: "slow-tokens",
				transporter: natsTransporter(nats.url),
				heartbeatInterval: HEARTBEAT_INTERVAL,
				heartbeatTimeout: HEARTBEAT_TIMEOUT
			});
			slowNode.createService({
				...withSettings(TokensService, { dataDir }),
				mixins: [
					...(TokensService.mixins ?? []),
					{
						hooks: {
							before: {
								async "*"(ctx: Context) {
									const name = ctx.action!.name!.replace(/^tokens\./, "");
									executions[name] = (executions[name] ?? 0) + 1;
									await sleep(DELAY);
								}
							}
						}
					}
				]
			});
			slowNode.createService({
				name: "spend-recorder",
				events: {
					"tokens.consumed"(ctx: Context<{ id: string }>) {
						spent.push(ctx.params.id);
					}
				}
			});
			await slowNode.start();
		});

		afterEach(async () => {
			await caller?.stop();
			caller = null;
			await slowNode.stop();
		});

		it("a timed-out consume is not retried; sent again, it still spends once", async () => {
			const broker = await startCaller();
			const g = await generate(broker);
			expect(executions.generate).toBe(1);

			// The caller's retry policy (2 retries) does not apply: one execution, one error.
			const t0 = Date.now();
			const timedOut = await rejection(
				broker.call("tokens.consume", { type: "api-key", token: g.token }, { timeout: 300 })
			);
			expect(timedOut).toBeInstanceOf(Errors.RequestTimeoutError);
			expect(Date.now() - t0).toBeLessThan(DELAY);
			// Asked for retries explicitly, still one attempt: the action turned retries off.
			const again = rejection(
				broker.call(
					"tokens.consume",
					{ type: "api-key", token: g.token },
					{ timeout: 300, retries: 5 }
				)
			);
			expect(await again).toBeInstanceOf(Errors.RequestTimeoutError);
			await eventually(async () => spent.length > 0, 5000, "the first consume to finish");
			await sleep(DELAY);
			expect(executions.consume).toBe(2); // the two calls we made, no retry
			expect(spent).toEqual([g.id]); // and only one of them spent the token
			expect(
				await broker.call("tokens.consume", { type: "api-key", token: g.token })
			).toBeNull();
			expect(await check(broker, g.token)).toBeNull();
		}, 30_000);

		it("a timed-out generate is not retried either, while a timed-out check is", async () => {
			const broker = await startCaller();
			await rejection(
				broker.call("tokens.generate", { type: "api-key", owner: "r" }, { timeout: 300 })
			);
			await rejection(
				broker.call(
					"tokens.check",
					{ type: "api-key", token: `mtk_${"A".repeat(36)}` },
					{ timeout: 300 }
				)
			);
			await sleep(DELAY + 200);
			expect(executions.generate).toBe(1);
			// Control: the retry policy is on, for what may run twice (1 call + 2 retries).
			expect(executions.check).toBe(3);
			const keys = await broker.call<TokenEntity[], object>("tokens.listByOwner", {
				owner: "r"
			});
			expect(keys).toHaveLength(1);
		}, 30_000);
	});
});
