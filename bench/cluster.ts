/**
 * Cluster benchmark: `tokens.check` from one caller node against one, then two `tokens` nodes
 * (separate processes, each with its own embedded store holding the same tokens) over a NATS
 * server of the benchmark's own (or NATS_URL). Read-only checks, so any node can answer; the
 * caller balances them round-robin (moleculer.config.ts). Does it scale, and which process runs out
 * of CPU first? The table shows the CPU each process used (100% = one core).
 *
 * Knobs: BENCH_TOKENS (live tokens per node, 20000), BENCH_SECONDS (per run, 10),
 * BENCH_CONCURRENCY (calls in flight, 64), BENCH_ACTIVE (distinct tokens checked, 10000),
 * NATS_URL, BENCH_BROKER_OPTIONS (JSON merged into every node's broker options, to compare
 * settings, e.g. '{"tracking":{"enabled":false}}'), BENCH_STORE=postgres (both nodes on one
 * PostgreSQL schema of the run's own at BENCH_DATABASE_URL; the first node stores the tokens).
 * Writes bench-results/cluster.json (cluster-postgres.json).
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { BrokerOptions, ServiceBroker } from "moleculer";
import { createToken } from "../lib/tokens/format";
import { runLoad, type LoadResult } from "./harness";
import { BENCH_DATABASE_URL, benchSchema, dropBenchSchema } from "./postgres-ceiling";
import { formatCpu, sleep, startNatsServer, withCpu, type BenchProcess } from "./processes";
import { writeResults } from "./results";
import { natsCaller } from "./fixture";

const env = process.env;
/** BENCH_STORE=postgres: the schema both nodes share. */
const SCHEMA = env.BENCH_STORE === "postgres" ? benchSchema() : null;
const TOKENS = Number(env.BENCH_TOKENS ?? 20_000);
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 64);
const ACTIVE = Number(env.BENCH_ACTIVE ?? 10_000);
const BROKER_OPTIONS = JSON.parse(env.BENCH_BROKER_OPTIONS || "{}") as Partial<BrokerOptions>;

interface Row {
	name: string;
	result: LoadResult;
	/** Checks answered by each tokens node during the run. */
	answeredBy: Record<string, number>;
	cpu: Record<string, number | null>;
}

interface TokensNode {
	nodeID: string;
	child: ChildProcess;
	stop(): Promise<void>;
}

function nextMessage<T>(child: ChildProcess, key: string): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const onMessage = (msg: Record<string, unknown>) => {
			if (key in msg) {
				child.off("message", onMessage);
				resolve(msg as T);
			}
		};
		child.on("message", onMessage);
		child.once("exit", code => reject(new Error(`tokens node exited with ${code}`)));
	});
}

async function startTokensNode(
	nodeID: string,
	namespace: string,
	natsUrl: string,
	salt: string,
	tokens: string[]
): Promise<TokensNode> {
	const dataDir = mkdtempSync(join(tmpdir(), `cluster-bench-${nodeID}-`));
	const child = fork(join(__dirname, "cluster-node.js"), [dataDir, namespace, natsUrl, nodeID], {
		env: {
			...env,
			TOKEN_SALT: salt,
			...(SCHEMA ? { DATABASE_URL: BENCH_DATABASE_URL, DATABASE_SCHEMA: SCHEMA } : {})
		},
		stdio: "inherit"
	});
	await nextMessage(child, "started");
	child.send({ tokens });
	await nextMessage(child, "ready");
	return {
		nodeID,
		child,
		async stop() {
			if (child.exitCode === null) {
				child.send({ stop: true });
				await new Promise(resolve => child.once("exit", resolve));
			}
			rmSync(dataDir, { recursive: true, force: true });
		}
	};
}

/** Waits until the caller sees `count` nodes offering tokens.check. */
async function waitForEndpoints(caller: ServiceBroker, count: number): Promise<void> {
	const deadline = Date.now() + 20_000;
	while (caller.registry.getActionEndpoints("tokens.check")?.count() !== count) {
		if (Date.now() > deadline) throw new Error(`the caller never saw ${count} tokens nodes`);
		await sleep(100);
	}
}

async function main(): Promise<void> {
	const load1 = loadavg()[0];
	console.log(
		`cluster benchmark: ${TOKENS} live tokens per node, ${SECONDS} s per run, ${CONCURRENCY} calls in flight, ` +
			`node ${process.version}, ${cpus().length} cores, load average ${load1.toFixed(2)} before the start`
	);
	const processes: BenchProcess[] = [];
	const nodes: TokensNode[] = [];
	let natsUrl = env.NATS_URL;
	const pids: Record<string, number> = { caller: process.pid };
	if (!natsUrl) {
		const nats = await startNatsServer();
		processes.push(nats.process);
		pids.nats = nats.process.pid;
		natsUrl = nats.url;
	}
	const namespace = `bench-${randomBytes(4).toString("hex")}`;
	const salt = randomBytes(48).toString("base64url");
	const tokens = Array.from({ length: TOKENS }, () => createToken("mtk"));
	const active = tokens.slice(0, ACTIVE);
	const rows: Row[] = [];
	const caller = natsCaller(namespace, natsUrl, BROKER_OPTIONS);
	try {
		await caller.start();
		const answeredBy: Record<string, number> = {};
		// broker.call's promise carries its context, which names the node that answered.
		const check = async (i: number) => {
			const call = caller.call<{ id: string } | null, object>("tokens.check", {
				type: "api-key",
				token: active[i % active.length]
			}) as Promise<{ id: string } | null> & { ctx?: { nodeID?: string | null } };
			if (!(await call)) throw new Error("a stored token was not found");
			const nodeID = call.ctx?.nodeID ?? "?";
			answeredBy[nodeID] = (answeredBy[nodeID] ?? 0) + 1;
		};

		for (const count of [1, 2]) {
			const nodeID = `bench-tokens-${count}`;
			// On a shared store the tokens are stored once, by the first node.
			const own = SCHEMA && count > 1 ? [] : tokens;
			const node = await startTokensNode(nodeID, namespace, natsUrl, salt, own);
			nodes.push(node);
			pids[nodeID.replace("bench-", "")] = node.child.pid!;
			await waitForEndpoints(caller, count);
			await runLoad(1000, CONCURRENCY, check); // warm-up
			for (const k of Object.keys(answeredBy)) delete answeredBy[k];
			const { result, cpu } = await withCpu(pids, () =>
				runLoad(SECONDS * 1000, CONCURRENCY, check)
			);
			const row: Row = {
				name: `check, ${count} tokens node${count > 1 ? "s" : ""}`,
				result,
				answeredBy: { ...answeredBy },
				cpu
			};
			rows.push(row);
			console.log(
				`  ${row.name}: ${Math.round(result.perSecond)}/s, p50 ${result.p50ms.toFixed(2)} ms, ` +
					`p99 ${result.p99ms.toFixed(2)} ms; CPU ${formatCpu(cpu)}`
			);
		}
	} finally {
		await caller.stop();
		await Promise.all(nodes.map(n => n.stop()));
		await Promise.all(processes.map(p => p.stop()));
		if (SCHEMA) await dropBenchSchema(SCHEMA);
	}

	const header = [
		"benchmark",
		"ops/s",
		"p50 ms",
		"p99 ms",
		"errors",
		"answered by",
		"CPU (100% = 1 core)",
		"CPU µs per check"
	];
	const lines = rows.map(r => [
		r.name,
		Math.round(r.result.perSecond).toLocaleString("en-US"),
		r.result.p50ms.toFixed(2),
		r.result.p99ms.toFixed(2),
		String(r.result.errors),
		Object.entries(r.answeredBy)
			.map(([k, v]) => `${k.replace("bench-", "")} ${Math.round((100 * v) / r.result.ops)}%`)
			.join(", "),
		formatCpu(r.cpu),
		Object.entries(r.cpu)
			.map(
				([k, v]) => `${k} ${v === null ? "?" : Math.round((v * 1e4) / r.result.perSecond)}`
			)
			.join(", ")
	]);
	const widths = header.map((h, i) => Math.max(h.length, ...lines.map(l => l[i].length)));
	const fmt = (cells: string[]) =>
		cells
			.map((c, i) => (i >= 1 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
			.join("  ");
	console.log(
		"\n" +
			[fmt(header), widths.map(w => "-".repeat(w)).join("  "), ...lines.map(fmt)].join("\n")
	);
	console.log(
		`\nscaling, 2 nodes / 1 node: ${(rows[1].result.perSecond / rows[0].result.perSecond).toFixed(2)}x ` +
			`(caller = this process; all processes share ${cpus().length} cores)`
	);
	writeResults(SCHEMA ? "cluster-postgres" : "cluster", {
		loadAverageBefore: +load1.toFixed(2),
		tokens: TOKENS,
		seconds: SECONDS,
		concurrency: CONCURRENCY,
		active: ACTIVE,
		store: SCHEMA ? "postgres" : "nedb",
		results: rows
	});
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
