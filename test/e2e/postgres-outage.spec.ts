/**
 * PostgreSQL going away under load, with two `tokens` nodes (moleculer-runner processes over NATS)
 * reaching it through a TCP proxy this test cuts and restores, as a server stop and start would look
 * to them (the machine's own server is shared with other suites, so it is not stopped):
 * - while it is away, calls answer 503 STORE_UNAVAILABLE quickly, never a hang or a 500;
 * - when it is back, both nodes answer again without a restart;
 * - every token acknowledged before, during or after the outage checks afterwards.
 */
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { createTestBroker, removeDir, tempDataDir } from "../helpers/broker";
import { describeWithNats, natsTransporter, NATS_URL, uniqueNamespace } from "../helpers/nats";
import {
	describeWithPostgres,
	dropSchema,
	TEST_DATABASE_URL,
	uniqueSchema
} from "../helpers/postgres";
import { buildOnce, eventually, startNode, type NodeProcess } from "../helpers/process";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";

/**
 * The caller's circuit breaker counts the outage's 503s (as it should) and may take the endpoints
 * out for its half-open time after the store is back: calls made then wait for it to close.
 */
async function patiently<T>(call: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			return await call();
		} catch (err) {
			const type = (err as { type?: string }).type;
			if (type !== "SERVICE_NOT_AVAILABLE" || Date.now() > deadline) throw err;
			await new Promise(resolve => setTimeout(resolve, 250));
		}
	}
}

interface Outcome {
	ok: boolean;
	ms: number;
	code?: number;
	type?: string;
}

describeWithNats("PostgreSQL outage under load", () => {
	describeWithPostgres("outage", () => {
		const schema = uniqueSchema("outage");
		const namespace = uniqueNamespace("outage");
		const dataDirs: string[] = [];
		const nodes: NodeProcess[] = [];
		let proxy: TcpProxy;
		let caller: ServiceBroker;

		beforeAll(async () => {
			buildOnce();
			const target = new URL(TEST_DATABASE_URL);
			proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
			const viaProxy = new URL(TEST_DATABASE_URL);
			viaProxy.port = String(proxy.port);
			const env = {
				TRANSPORTER: NATS_URL,
				NAMESPACE: namespace,
				DATABASE_URL: viaProxy.toString(),
				DATABASE_SCHEMA: schema,
				TOKEN_SALT: randomBytes(32).toString("base64url"),
				LOGLEVEL: "warn"
			};
			for (const name of ["tokens-a", "tokens-b"]) {
				const dataDir = tempDataDir(`moleculer-${name}-`);
				dataDirs.push(dataDir);
				nodes.push(startNode(name, "tokens", { ...env, DATA_DIR: dataDir }));
			}
			caller = createTestBroker({
				namespace,
				nodeID: "caller",
				transporter: natsTransporter(),
				requestTimeout: 5000
			});
			await caller.start();
			await caller.waitForServices(["tokens"], 60_000);
		}, 90_000);

		afterAll(async () => {
			await Promise.all(nodes.map(n => n.stop("SIGTERM")));
			await caller?.stop();
			await proxy?.close();
			for (const dir of dataDirs) removeDir(dir);
			await dropSchema(schema);
		}, 30_000);

		it("answers 503 quickly while the store is away and recovers by itself", async () => {
			const acknowledged: string[] = [];
			const outcomes: { phase: string; outcome: Outcome }[] = [];
			let phase = "before";
			let stop = false;
			const load = async () => {
				while (!stop) {
					const started = Date.now();
					const seenIn = phase;
					try {
						const { token } = await caller.call<{ token: string }, object>(
							"tokens.generate",
							{ type: "api-key", owner: "outage" },
							{ retries: 0 }
						);
						acknowledged.push(token);
						outcomes.push({
							phase: seenIn,
							outcome: { ok: true, ms: Date.now() - started }
						});
					} catch (err) {
						const e = err as { code?: number; type?: string };
						outcomes.push({
							phase: seenIn,
							outcome: {
								ok: false,
								ms: Date.now() - started,
								code: e.code,
								type: e.type
							}
						});
						await new Promise(resolve => setTimeout(resolve, 20));
					}
				}
			};
			const workers = Array.from({ length: 8 }, load);
			await eventually(async () => acknowledged.length > 100, 20_000, "load running");

			phase = "down";
			await proxy.cut();
			await new Promise(resolve => setTimeout(resolve, 3000));
			const down = outcomes.filter(o => o.phase === "down" && !o.outcome.ok);
			expect(down.length).toBeGreaterThan(0);
			for (const { outcome } of down) {
				expect(outcome).toMatchObject({ code: 503, type: "STORE_UNAVAILABLE" });
				// Within the request timeout: a fast refusal, not a hang.
				expect(outcome.ms).toBeLessThan(5000);
			}

			phase = "restored";
			await proxy.restore();
			const before = acknowledged.length;
			await eventually(
				async () =>
					outcomes.filter(o => o.phase === "restored" && o.outcome.ok).length > 200 &&
					acknowledged.length > before,
				20_000,
				"tokens acknowledged again"
			);
			stop = true;
			await Promise.all(workers);

			// Both nodes answer (pinned), without having been restarted.
			for (const nodeID of ["tokens-a", "tokens-b"]) {
				await expect(
					patiently(() =>
						caller.call(
							"tokens.generate",
							{ type: "api-key", owner: "after" },
							{ nodeID }
						)
					)
				).resolves.toMatchObject({ token: expect.any(String) });
			}
			expect(nodes.every(n => n.child.exitCode === null)).toBe(true);
			const missing: string[] = [];
			for (let i = 0; i < acknowledged.length; i += 200) {
				const checks = await Promise.all(
					acknowledged
						.slice(i, i + 200)
						.map(token =>
							patiently(() => caller.call("tokens.check", { type: "api-key", token }))
						)
				);
				missing.push(
					...acknowledged.slice(i, i + 200).filter((_, j) => checks[j] === null)
				);
			}
			expect(missing).toHaveLength(0);
		}, 60_000);
	});
});
