/**
 * `npm run bench:scale`: the `tokens` service at a size real users reach, on the embedded store.
 *
 * 1. 1,000,000 live tokens: memory per token, start-up time (loading the data file), check throughput.
 * 2. 1,000,000 expired tokens added: how long the cleanup takes, and check latency while it runs
 *    (it must not stall checks: it works in batches).
 *
 * Knobs: BENCH_SCALE_TOKENS (1000000), BENCH_SECONDS (5), BENCH_CONCURRENCY (64),
 * BENCH_CLEANUP_CONCURRENCY (checks in flight during the cleanup, 8). Writes
 * bench-results/scale.json. Run with --expose-gc (the npm script does) for the memory figure.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import { createToken } from "../lib/tokens/format";
import type { TokenHasher } from "../lib/tokens/hasher";
import type { TokenRecord, TokenStore } from "../lib/tokens/store/token-store";
import { fillTokens, startTokensNode } from "./fixture";
import { formatTable, runLoad, type LoadResult } from "./harness";
import { writeResults } from "./results";

const COUNT = Number(process.env.BENCH_SCALE_TOKENS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
/** Calls in flight while the cleanup runs: checks come first, so a saturating load slows it. */
const CLEANUP_CONCURRENCY = Number(process.env.BENCH_CLEANUP_CONCURRENCY ?? 8);

function heapUsed(): number {
	(globalThis as { gc?: () => void }).gc?.();
	return process.memoryUsage().heapUsed;
}

async function addExpired(broker: ServiceBroker, count: number): Promise<void> {
	const service = broker.getLocalService("tokens") as unknown as {
		store: TokenStore;
		hasher: TokenHasher;
	};
	const past = Date.now() - 1000;
	for (let done = 0; done < count; done += 5000) {
		const records: TokenRecord[] = [];
		for (let i = done; i < Math.min(count, done + 5000); i++) {
			records.push({
				_id: randomUUID(),
				type: "verification",
				owner: `owner-${i % 100000}`,
				hash: service.hasher.hash(createToken("mtv")),
				name: null,
				scopes: [],
				data: null,
				createdAt: past - 86_400_000,
				expiresAt: past - (i % 86_400_000),
				lastUsedAt: null
			});
		}
		await Promise.all(records.map(r => service.store.insert(r)));
	}
}

async function main(): Promise<void> {
	const dataDir = mkdtempSync(join(tmpdir(), "tokens-scale-"));
	const figures: Record<string, number | string> = { tokens: COUNT, node: process.version };
	const rows: { name: string; result: LoadResult }[] = [];
	try {
		let broker = await startTokensNode(dataDir);
		const before = heapUsed();
		let t0 = performance.now();
		const tokens = await fillTokens(broker, COUNT);
		figures.fillSeconds = +((performance.now() - t0) / 1000).toFixed(1);
		figures.bytesPerToken = Math.round((heapUsed() - before) / COUNT);
		console.log(`filled ${COUNT} live tokens in ${figures.fillSeconds} s`);
		figures.dataFileMB = +(statSync(join(dataDir, "tokens.db")).size / 1e6).toFixed(1);
		const active = tokens.slice(0, 10_000);
		tokens.length = 0;
		await broker.stop();

		t0 = performance.now();
		broker = await startTokensNode(dataDir);
		figures.startupSeconds = +((performance.now() - t0) / 1000).toFixed(1);
		console.log(`restarted on ${COUNT} tokens in ${figures.startupSeconds} s`);

		const check = (i: number) =>
			broker.call("tokens.check", { type: "api-key", token: active[i % active.length] });
		await runLoad(1000, CONCURRENCY, check);
		rows.push({
			name: `check, ${COUNT.toLocaleString("en-US")} live tokens`,
			result: await runLoad(SECONDS * 1000, CONCURRENCY, check)
		});

		t0 = performance.now();
		await addExpired(broker, COUNT);
		figures.addExpiredSeconds = +((performance.now() - t0) / 1000).toFixed(1);
		console.log(`added ${COUNT} expired tokens in ${figures.addExpiredSeconds} s; cleaning up`);

		let cleanupSeconds = 0;
		let removed = 0;
		const cleanup = (async () => {
			const c0 = performance.now();
			removed = (
				await broker.call<{ removed: number }, object>(
					"tokens.removeExpired",
					{},
					{ timeout: 0 }
				)
			).removed;
			cleanupSeconds = (performance.now() - c0) / 1000;
		})();
		let cleanupDone = false;
		void cleanup.then(() => (cleanupDone = true));
		const during: LoadResult[] = [];
		while (!cleanupDone) during.push(await runLoad(1000, CLEANUP_CONCURRENCY, check));
		await cleanup;
		figures.cleanupSeconds = +cleanupSeconds.toFixed(1);
		figures.cleanupRemoved = removed;
		const ops = during.reduce((a, r) => a + r.ops, 0);
		const secs = during.reduce((a, r) => a + r.seconds, 0);
		rows.push({
			name: `check during cleanup of ${COUNT.toLocaleString("en-US")} expired (${CLEANUP_CONCURRENCY} in flight)`,
			result: {
				ops,
				seconds: secs,
				perSecond: ops / secs,
				p50ms: Math.max(...during.map(r => r.p50ms)),
				p99ms: Math.max(...during.map(r => r.p99ms)),
				errors: during.reduce((a, r) => a + r.errors, 0)
			}
		});
		await broker.stop();
	} finally {
		rmSync(dataDir, { recursive: true, force: true });
	}
	console.log(formatTable(rows));
	console.log("(during cleanup: p50/p99 are the worst of its one-second windows)");
	console.log(figures);
	writeResults("scale", { figures, results: rows });
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
