/**
 * Processes of the multi-process benchmarks (bench/http.ts, bench/cluster.ts): a NATS server of the
 * benchmark's own, service nodes started as production starts them (`moleculer-runner` on
 * dist/moleculer.config.js, SERVICES=… and the rest from the environment), and the CPU time each
 * process used, read from /proc, so a table can say which process ran out of CPU first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

export const ROOT = resolve(__dirname, "../..");
const RUNNER = join(ROOT, "node_modules/moleculer/bin/moleculer-runner.js");
const CONFIG = join(ROOT, "dist/moleculer.config.js");

export interface BenchProcess {
	name: string;
	pid: number;
	output(): string;
	/** Resolves once the output matches `pattern`; rejects if the process exits first. */
	waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
	stop(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
	return new Promise((resolvePort, reject) => {
		const server = createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolvePort(port));
		});
	});
}

export function sleep(ms: number): Promise<void> {
	return new Promise(r => setTimeout(r, ms));
}

/** Wraps a child process: collects its output, stops it with SIGTERM (SIGKILL after 15 s). */
export function track(name: string, child: ChildProcess): BenchProcess {
	let output = "";
	const listeners = new Set<() => void>();
	const collect = (chunk: Buffer) => {
		output += chunk.toString("utf8");
		for (const listener of [...listeners]) listener();
	};
	child.stdout?.on("data", collect);
	child.stderr?.on("data", collect);
	const exited = new Promise<void>(r =>
		child.once("exit", () => {
			for (const listener of [...listeners]) listener();
			r();
		})
	);
	const running = () => child.exitCode === null && child.signalCode === null;
	return {
		name,
		pid: child.pid!,
		output: () => output,
		waitForOutput(pattern, timeoutMs = 60_000) {
			return new Promise<void>((resolveWait, reject) => {
				const timer = setTimeout(() => {
					listeners.delete(check);
					reject(new Error(`${name} did not print ${pattern} in time:\n${output}`));
				}, timeoutMs);
				const check = () => {
					if (pattern.test(output) || !running()) {
						clearTimeout(timer);
						listeners.delete(check);
						if (pattern.test(output)) resolveWait();
						else reject(new Error(`${name} exited:\n${output}`));
					}
				};
				listeners.add(check);
				check();
			});
		},
		async stop() {
			if (running()) child.kill("SIGTERM");
			const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
			await exited;
			clearTimeout(timer);
		}
	};
}

/**
 * `nats-server` on a free port of 127.0.0.1 (NATS_SERVER_BIN or Debian's /usr/sbin/nats-server),
 * so other users of a shared server neither disturb the figures nor show up in them.
 */
export async function startNatsServer(): Promise<{ url: string; process: BenchProcess }> {
	const binary = [
		process.env.NATS_SERVER_BIN,
		"/usr/sbin/nats-server",
		"/usr/bin/nats-server"
	].find((c): c is string => Boolean(c && existsSync(c)));
	if (!binary) throw new Error("nats-server not found: install it or set NATS_URL");
	const port = await freePort();
	const child = spawn(binary, ["-a", "127.0.0.1", "-p", String(port)], {
		stdio: ["ignore", "pipe", "pipe"]
	});
	const proc = track("nats-server", child);
	await proc.waitForOutput(/Server is ready/, 10_000);
	return { url: `nats://127.0.0.1:${port}`, process: proc };
}

/** How to run node: its path and flags, or a tool (valgrind) running it. */
export type NodeCommand = string[];

/**
 * `moleculer-runner --config dist/moleculer.config.js` with SERVICES=`services`. It logs at
 * LOGLEVEL=warn unless `env` says otherwise (at "info" the gateway logs two lines per request), so
 * callers find out it is up by asking it (GET /ready), not by reading its output.
 */
export function startRunnerNode(
	name: string,
	services: string,
	env: Record<string, string>,
	node: NodeCommand = [process.execPath]
): BenchProcess {
	// BENCH_PROFILE_DIR=<dir>: each node writes a CPU profile there when it stops.
	const profile = process.env.BENCH_PROFILE_DIR
		? [
				"--cpu-prof",
				`--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`,
				`--cpu-prof-name=${name}.cpuprofile`
			]
		: [];
	const command = [...node, ...profile, RUNNER, "--config", CONFIG];
	const child = spawn(command[0], command.slice(1), {
		cwd: ROOT,
		env: {
			PATH: process.env.PATH ?? "",
			HOME: process.env.HOME ?? "",
			NO_COLOR: "1",
			NODE_ENV: "production",
			NODEID: name,
			SERVICES: services,
			LOGLEVEL: "warn",
			...env
		},
		stdio: ["ignore", "pipe", "pipe"]
	});
	return track(name, child);
}

/**
 * The ceiling (bench/ceiling-gateway: moleculer-web alone answering a constant) on a free port of
 * 127.0.0.1, in a process of its own, run by `node`; resolves once it answers.
 */
export async function startCeiling(
	node: NodeCommand = [process.execPath],
	readyMs = 30_000
): Promise<{ base: string; process: BenchProcess }> {
	const port = await freePort();
	const [command, ...args] = [...node, join(__dirname, "ceiling-gateway.js")];
	const child = track(
		"ceiling",
		spawn(command, args, {
			env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", PORT: String(port) },
			stdio: ["ignore", "pipe", "pipe"]
		})
	);
	try {
		await child.waitForOutput(/ceiling ready/, readyMs);
	} catch (err) {
		await child.stop();
		throw err;
	}
	return { base: `http://127.0.0.1:${port}`, process: child };
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far; null where /proc is missing. */
export function cpuSeconds(pid: number): number | null {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// Fields after the command name (which may hold spaces) start at field 3 (state).
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
	} catch {
		return null;
	}
}

/** Measures the CPU each process used while `run` ran, as a share of one core. */
export async function withCpu<T>(
	pids: Record<string, number>,
	run: () => Promise<T>
): Promise<{ result: T; cpu: Record<string, number | null> }> {
	const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
	const t0 = performance.now();
	const result = await run();
	const seconds = (performance.now() - t0) / 1000;
	const cpu: Record<string, number | null> = {};
	for (const [k, pid] of Object.entries(pids)) {
		const end = cpuSeconds(pid);
		const start = before[k];
		cpu[k] =
			end === null || start === null ? null : Math.round((100 * (end - start)) / seconds);
	}
	return { result, cpu };
}

/** "api 95%, auth 60%, …": CPU use per process (100% = one whole core). */
export function formatCpu(cpu: Record<string, number | null>): string {
	return Object.entries(cpu)
		.map(([k, v]) => `${k} ${v === null ? "?" : `${v}%`}`)
		.join(", ");
}
