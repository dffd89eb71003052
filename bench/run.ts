/**
 * `npm run bench`: throughput and latency of the `tokens` service on the file-backed embedded store,
 * or with BENCH_STORE=postgres on PostgreSQL (BENCH_DATABASE_URL, default the local test database),
 * beside pgbench's lookup ceiling measured in the same run.
 *
 *   in process: check, check with isUsed, generate (one broker, no transporter)
 *   over NATS:  check from a caller node to a `tokens` node in another process (embedded store)
 *
 * Knobs: BENCH_ONLY ("process" or "nats"), BENCH_TOKENS (live tokens, 100000), BENCH_SECONDS (per run, 5), BENCH_CONCURRENCY (calls in
 * flight, 64), BENCH_ACTIVE (distinct tokens checked, 10000), NATS_URL. Prints one table and writes
 * the figures to bench-results/tokens.json.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fillTokens, startTokensNode, natsCaller } from "./fixture";
import { chartSvg } from "./chart";
import {
	BENCH_DATABASE_URL,
	benchSchema,
	dropBenchSchema,
	pgbenchLookups
} from "./postgres-ceiling";
import { formatTable, runLoad, type LoadResult } from "./harness";
import { writeResults } from "./results";

const env = process.env;
const TOKENS = Number(env.BENCH_TOKENS ?? 100_000);
const SECONDS = Number(env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 64);
const ACTIVE = Number(env.BENCH_ACTIVE ?? 10_000);
const NATS_URL = env.NATS_URL ?? "nats://127.0.0.1:4222";
const STORE = env.BENCH_STORE === "postgres" ? "postgres" : "nedb";
/** The project's pool on PostgreSQL, and pgbench's clients: the same number. */
const PG_CLIENTS = Number(env.DATABASE_POOL_SIZE ?? 16);

type Row = { name: string; result: LoadResult; target?: string };

async function inProcess(rows: Row[]): Promise<void> {
	const dataDir = mkdtempSync(join(tmpdir(), "tokens-bench-"));
	const schema = STORE === "postgres" ? benchSchema() : null;
	if (schema) process.env.DATABASE_POOL_SIZE = String(PG_CLIENTS);
	try {
		const broker = await startTokensNode(
			dataDir,
			{},
			schema ? { databaseUrl: BENCH_DATABASE_URL, databaseSchema: schema } : {}
		);
		const t0 = performance.now();
		const tokens = await fillTokens(broker, TOKENS);
		console.log(`filled ${TOKENS} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
		const active = tokens.slice(0, ACTIVE);
		const check = (isUsed: boolean) => (i: number) =>
			broker.call("tokens.check", {
				type: "api-key",
				token: active[i % active.length],
				isUsed
			});

		await runLoad(1000, CONCURRENCY, check(false)); // warm-up
		const plain = await runLoad(SECONDS * 1000, CONCURRENCY, check(false));
		let ceiling: number | null = null;
		if (schema) {
			// While the tokens node is idle: the ceiling has the machine to itself.
			ceiling = pgbenchLookups(`${schema}_pgbench`, PG_CLIENTS, SECONDS);
			rows.push({
				name: `pgbench -S -M prepared -c ${PG_CLIENTS} -j 2 (ceiling)`,
				result: { ...plain, perSecond: ceiling, p50ms: NaN, p99ms: NaN, ops: 0, errors: 0 }
			});
		}
		rows.push({
			name: `check (in process, ${STORE})`,
			result: plain,
			target: ceiling
				? `>= 0.6 x pgbench = ${Math.round(0.6 * ceiling).toLocaleString("en-US")}/s (${(plain.perSecond / ceiling).toFixed(2)} x)`
				: ">= 80,000/s"
		});
		const used = await runLoad(SECONDS * 1000, CONCURRENCY, check(true));
		rows.push({
			name: `check isUsed (in process, ${STORE}, ${active.length} active tokens)`,
			result: used,
			target: ceiling
				? `within 10% of check (${((used.perSecond / plain.perSecond - 1) * 100).toFixed(1)}%)`
				: ">= 40,000/s"
		});
		rows.push({
			name: `generate (in process, ${STORE})`,
			result: await runLoad(SECONDS * 1000, CONCURRENCY, i =>
				broker.call("tokens.generate", { type: "api-key", owner: `bench-${i % 1000}` })
			),
			target: ">= 5,000/s"
		});
		await broker.stop();
	} finally {
		rmSync(dataDir, { recursive: true, force: true });
		if (schema) {
			await dropBenchSchema(schema);
			await dropBenchSchema(`${schema}_pgbench`);
		}
	}
}

async function overNats(rows: Row[]): Promise<void> {
	const dataDir = mkdtempSync(join(tmpdir(), "tokens-bench-nats-"));
	const namespace = `bench-${randomBytes(4).toString("hex")}`;
	const child = fork(
		join(__dirname, "nats-node.js"),
		[dataDir, namespace, NATS_URL, String(TOKENS)],
		{
			stdio: "inherit",
			// BENCH_PROFILE_DIR=<dir>: write a CPU profile of the tokens node there.
			execArgv: env.BENCH_PROFILE_DIR
				? ["--cpu-prof", `--cpu-prof-dir=${env.BENCH_PROFILE_DIR}`]
				: []
		}
	);
	try {
		const sample = await new Promise<string[]>((resolve, reject) => {
			child.once("message", (msg: { sample: string[] }) => resolve(msg.sample));
			child.once("exit", code => reject(new Error(`tokens node exited with ${code}`)));
		});
		const caller = natsCaller(namespace, NATS_URL);
		await caller.start();
		await caller.waitForServices(["tokens"], 10_000);
		const active = sample.slice(0, ACTIVE);
		const check = (i: number) =>
			caller.call("tokens.check", { type: "api-key", token: active[i % active.length] });
		await runLoad(1000, CONCURRENCY, check); // warm-up
		rows.push({
			name: `check over NATS (${CONCURRENCY} in flight)`,
			result: await runLoad(SECONDS * 1000, CONCURRENCY, check),
			target: ">= 25,000/s, p99 <= 10 ms"
		});
		await caller.stop();
	} finally {
		child.send({ stop: true });
		await new Promise(resolve => child.once("exit", resolve));
		rmSync(dataDir, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	const rows: Row[] = [];
	console.log(
		`tokens benchmark: ${TOKENS} live tokens, ${SECONDS} s per run, ${CONCURRENCY} calls in flight, ` +
			`node ${process.version}, ${cpus().length} cores`
	);
	const only = env.BENCH_ONLY; // "process" or "nats": run one half
	if (only !== "nats") await inProcess(rows);
	if (only !== "process" && STORE === "nedb") await overNats(rows);
	console.log("\n" + formatTable(rows));
	writeResults(
		STORE === "postgres" ? "tokens-postgres" : "tokens",
		{
			tokens: TOKENS,
			seconds: SECONDS,
			concurrency: CONCURRENCY,
			active: ACTIVE,
			store: STORE,
			results: rows
		},
		chartSvg(
			`tokens (${STORE}), ${new Date().toISOString().slice(0, 10)}`,
			rows.map(r => ({ label: r.name, perSecond: r.result.perSecond, p99ms: r.result.p99ms }))
		)
	);
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
