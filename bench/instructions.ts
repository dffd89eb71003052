/**
 * `npm run bench:instructions`: instructions per `tokens` operation, counted by valgrind's
 * callgrind. Wall-clock figures on a shared 2-core VM swing 2-10x between runs; a count of executed
 * instructions varies by about 10% (the GC, and timers whose number depends on how long the run
 * takes, such as the "last used" flush), so this is the figure to compare before and after a change
 * to the hot path, for changes larger than that.
 *
 * Each operation runs under callgrind (bench/instructions-worker.ts: start-up, 1,000 tokens, then
 * BENCH_LOW or BENCH_HIGH calls); the difference of the two totals divided by the difference of the
 * call counts is the cost of one call, start-up and fill cancelled out. Counted: user-space
 * instructions of the node process (kernel work such as socket writes and file appends is not).
 * Node runs with --single-threaded (no background JIT or GC threads, whose timing would change the
 * count); a run still sometimes takes a one-off detour (~0.2 billion instructions, a collection or
 * a re-optimisation), so each count is the smallest of BENCH_REPEAT runs.
 *
 * Knobs: BENCH_LOW (2000), BENCH_HIGH (22000), BENCH_REPEAT (3), BENCH_OPERATIONS (comma-separated,
 * default all). Needs valgrind on PATH (Debian: apt-get install valgrind). A run takes 30-60 s.
 * Writes bench-results/instructions.json.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { OPERATIONS, type Operation } from "./instructions-worker";
import { writeResults } from "./results";

const env = process.env;
const LOW = Number(env.BENCH_LOW ?? 2000);
const HIGH = Number(env.BENCH_HIGH ?? 22_000);
const REPEAT = Number(env.BENCH_REPEAT ?? 3);
const WORKER = join(__dirname, "instructions-worker.js");

/** Total instructions callgrind collected over one worker run. */
function countInstructions(operation: Operation, calls: number): Promise<number> {
	return new Promise((resolve, reject) => {
		const child = spawn(
			"valgrind",
			[
				"--tool=callgrind",
				"--callgrind-out-file=/dev/null",
				process.execPath,
				"--single-threaded",
				WORKER,
				operation,
				String(calls)
			],
			{ stdio: ["ignore", "ignore", "pipe"] }
		);
		let stderr = "";
		child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
		child.once("error", reject);
		child.once("exit", code => {
			const match = /Collected : (\d+)/.exec(stderr);
			if (code !== 0 || !match) {
				reject(
					new Error(
						`callgrind run of ${operation} × ${calls} failed (${code}):\n${stderr}`
					)
				);
			} else resolve(Number(match[1]));
		});
	});
}

async function main(): Promise<void> {
	const operations = (env.BENCH_OPERATIONS?.split(",").map(s => s.trim()) ??
		Object.keys(OPERATIONS)) as Operation[];
	for (const operation of operations) {
		if (!(operation in OPERATIONS)) throw new Error(`unknown operation: ${operation}`);
	}
	console.log(
		`instructions per call (callgrind): ${LOW} and ${HIGH} calls, ${REPEAT} times each, ` +
			`node ${process.version}`
	);
	const results: Record<string, { perCall: number; low: number[]; high: number[] }> = {};
	for (const operation of operations) {
		const low: number[] = [];
		const high: number[] = [];
		for (let run = 0; run < REPEAT; run++) {
			low.push(await countInstructions(operation, LOW));
			high.push(await countInstructions(operation, HIGH));
		}
		const perCall = Math.round((Math.min(...high) - Math.min(...low)) / (HIGH - LOW));
		results[operation] = { perCall, low, high };
		const billions = (counts: number[]) => counts.map(n => (n / 1e9).toFixed(3)).join(", ");
		console.log(
			`  ${operation}: ${perCall.toLocaleString("en-US")} instructions per call ` +
				`(totals in billions: ${LOW} calls ${billions(low)}; ${HIGH} calls ${billions(high)})`
		);
	}
	writeResults("instructions", {
		low: LOW,
		high: HIGH,
		results
	});
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
