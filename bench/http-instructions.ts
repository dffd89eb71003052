/**
 * `npm run bench:http-instructions`: the instructions a server runs per HTTP request, counted by
 * valgrind's callgrind, for GET /api/me with an API key that has a rate limit and credits (the
 * route bench:http compares with the ceiling) and for the ceiling itself (bench/ceiling-gateway:
 * moleculer-web answering a constant), in the same run.
 *
 * Why: on this shared VM req/s, and even the CPU µs per request bench:http prints, move by 20-40%
 * between runs (steal time, and the hypervisor's cost of waking the load generator, which was 14%
 * of the route's CPU in a perf profile). An instruction count repeats within a few percent, so a
 * change to the route shows. Counted: user space of the server process, i.e. the work our code,
 * moleculer, moleculer-web and Node's HTTP layer do; not the kernel's socket reads, writes and
 * wake-ups, which the ceiling and the route pay alike, once per request.
 *
 * How: each server runs under callgrind with instrumentation off (it starts several times slower
 * instead of about fifty), in one process (`single`, the embedded store). The account is made
 * through the API and BENCH_WARMUP requests warm the JIT up. Then, BENCH_WINDOWS times: zero the
 * counters, instrumentation on, BENCH_REQUESTS requests (autocannon, 16 keep-alive connections),
 * instrumentation off, dump; the window's total over its requests is one figure. callgrind_control
 * (shipped with valgrind) does the switching. The first window after the switch runs high (30-45%
 * above the next, for the ceiling as for the route), and now and then a window holds a one-off
 * detour (a major collection: +40%), so the figure is the smallest window, as in
 * bench:instructions; every window is printed and written.
 *
 * Knobs: BENCH_WARMUP (20000), BENCH_REQUESTS (5000), BENCH_WINDOWS (4). Needs valgrind on PATH
 * (Debian: apt-get install valgrind). About five minutes. Writes bench-results/http-instructions.json.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import autocannon from "autocannon";
import { startCeiling, type NodeCommand } from "./processes";
import { writeResults } from "./results";
import { createAccount, startStack } from "./stack";

const env = process.env;
const WARMUP = Number(env.BENCH_WARMUP ?? 20_000);
const REQUESTS = Number(env.BENCH_REQUESTS ?? 5000);
const WINDOWS = Number(env.BENCH_WINDOWS ?? 4);
const CONNECTIONS = 16;
const run = promisify(execFile);

/** node under callgrind, counting nothing until told to; dumps go to `dir`. */
function underCallgrind(dir: string): NodeCommand {
	return [
		"valgrind",
		"--tool=callgrind",
		"--instr-atstart=no",
		`--callgrind-out-file=${join(dir, "callgrind.out")}`,
		process.execPath,
		// No background JIT or GC threads, whose timing would change the count.
		"--single-threaded"
	];
}

/** The newest of callgrind's dumps among `names` (callgrind.out.1, .2, … .10: by number). */
export function newestDump(names: string[]): string | null {
	let newest: { name: string; n: number } | null = null;
	for (const name of names) {
		const match = /^callgrind\.out\.(\d+)$/.exec(name);
		if (match && (!newest || Number(match[1]) > newest.n)) {
			newest = { name, n: Number(match[1]) };
		}
	}
	return newest?.name ?? null;
}

/** The instructions a dump counted (its `totals:` line). */
export function dumpTotal(text: string): number {
	const match = /^totals: (\d+)$/m.exec(text);
	if (!match) throw new Error("a callgrind dump without a totals line");
	return Number(match[1]);
}

function newestDumpTotal(dir: string): number {
	const newest = newestDump(readdirSync(dir));
	if (!newest) throw new Error(`no callgrind dump in ${dir}`);
	return dumpTotal(readFileSync(join(dir, newest), "utf8"));
}

async function send(url: string, amount: number, headers: Record<string, string>): Promise<void> {
	const result = (await autocannon({
		url,
		amount,
		connections: CONNECTIONS,
		headers
	})) as unknown as autocannon.Result;
	if (result.errors > 0 || result.non2xx > 0) {
		throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} answers other than 2xx`);
	}
}

/** Instructions per request in each window, after the warm-up. */
async function countWindows(
	pid: number,
	dir: string,
	url: string,
	headers: Record<string, string> = {}
): Promise<number[]> {
	await send(url, WARMUP, headers);
	const perRequest: number[] = [];
	for (let window = 0; window < WINDOWS; window++) {
		await run("callgrind_control", ["--zero", String(pid)]);
		await run("callgrind_control", ["--instr=on", String(pid)]);
		await send(url, REQUESTS, headers);
		await run("callgrind_control", ["--instr=off", String(pid)]);
		await run("callgrind_control", ["--dump", String(pid)]);
		perRequest.push(Math.round(newestDumpTotal(dir) / REQUESTS));
	}
	return perRequest;
}

async function routeWindows(): Promise<number[]> {
	const dir = mkdtempSync(join(tmpdir(), "http-instructions-"));
	const stack = await startStack("single", {
		nodeCommand: underCallgrind(dir),
		readyMs: 300_000
	});
	try {
		const account = await createAccount(stack.base, stack.outbox);
		return await countWindows(stack.pids.node, dir, `${stack.base}/api/me`, {
			"x-api-key": account.limitedKey
		});
	} finally {
		await stack.stop();
		rmSync(dir, { recursive: true, force: true });
	}
}

async function ceilingWindows(): Promise<number[]> {
	const dir = mkdtempSync(join(tmpdir(), "http-instructions-"));
	const ceiling = await startCeiling(underCallgrind(dir), 300_000);
	try {
		return await countWindows(ceiling.process.pid, dir, `${ceiling.base}/constant`);
	} finally {
		await ceiling.process.stop();
		rmSync(dir, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	console.log(
		`instructions per HTTP request (callgrind, server process): ${WARMUP} requests of ` +
			`warm-up, then ${WINDOWS} windows of ${REQUESTS}, ${CONNECTIONS} connections, node ${process.version}`
	);
	const rows = [
		{
			name: "GET /api/me, X-API-Key with a rate limit and credits",
			windows: await routeWindows()
		},
		{ name: "GET /constant, moleculer-web alone (ceiling)", windows: await ceilingWindows() }
	].map(row => ({ ...row, perRequest: Math.min(...row.windows) }));
	for (const row of rows) {
		const windows = row.windows.map(n => n.toLocaleString("en-US")).join(", ");
		console.log(
			`  ${row.name}: ${row.perRequest.toLocaleString("en-US")} (windows: ${windows})`
		);
	}
	const ratio = rows[1].perRequest / rows[0].perRequest;
	console.log(`  ceiling ÷ route: ${ratio.toFixed(2)} (the issue's target by req/s: 0.5)`);
	writeResults("http-instructions", { warmup: WARMUP, requests: REQUESTS, rows, ratio });
}

if (require.main === module) {
	main().catch(err => {
		console.error(err);
		process.exit(1);
	});
}
