/**
 * Services as separate operating-system processes, started the way production starts them:
 * `moleculer-runner --config dist/moleculer.config.js` with SERVICES=… and the rest from the
 * environment. For end-to-end suites that need real process boundaries (signals, restarts).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { natsAnswers } from "./nats";
import { freePort, sleep } from "../../bench/processes";

export const ROOT = resolve(__dirname, "../..");
const RUNNER = join(ROOT, "node_modules/moleculer/bin/moleculer-runner.js");
const CONFIG = join(ROOT, "dist/moleculer.config.js");

/**
 * Compiles the project into dist/ (what `npm start` runs). Type errors are `npm run typecheck`'s
 * business (tsc still emits every file): they are printed, and only a missing output fails.
 */
export function buildProject(): void {
	const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
	const result = spawnSync(process.execPath, [tsc, "--project", "tsconfig.build.json"], {
		cwd: ROOT,
		encoding: "utf8",
		timeout: 120_000
	});
	if (result.status !== 0) {
		console.warn(`tsc reported errors while building dist/:\n${result.stdout}${result.stderr}`);
	}
	if (result.error || !existsSync(CONFIG)) {
		throw new Error(`Could not build dist/: ${result.error?.message ?? result.stdout}`);
	}
}

// The benchmarks' helpers, shared: a free TCP port, and a pause.
export { freePort, sleep };

export interface Exit {
	code: number | null;
	signal: NodeJS.Signals | null;
}

export interface NodeProcess {
	name: string;
	child: ChildProcess;
	/** Everything the process wrote to stdout and stderr so far. */
	output(): string;
	/** Resolves when the process has exited. */
	exited: Promise<Exit>;
	/** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
	stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
	/** Waits until the output matches `pattern`. */
	waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Starts `moleculer-runner` with SERVICES=`services`. The environment is only what is given (plus
 * PATH and HOME): nothing of the test runner's leaks into the node.
 */
export function startNode(
	name: string,
	services: string,
	env: Record<string, string>
): NodeProcess {
	const child = spawn(process.execPath, [RUNNER, "--config", CONFIG], {
		cwd: ROOT,
		env: {
			PATH: process.env.PATH ?? "",
			HOME: process.env.HOME ?? "",
			NO_COLOR: "1",
			NODEID: name,
			SERVICES: services,
			...env
		},
		stdio: ["ignore", "pipe", "pipe"]
	});
	let output = "";
	const listeners = new Set<() => void>();
	const collect = (chunk: Buffer) => {
		output += chunk.toString("utf8");
		for (const listener of [...listeners]) listener();
	};
	child.stdout!.on("data", collect);
	child.stderr!.on("data", collect);
	const exited = new Promise<Exit>(resolveExit => {
		child.once("exit", (code, signal) => {
			for (const listener of [...listeners]) listener();
			resolveExit({ code, signal });
		});
	});

	return {
		name,
		child,
		output: () => output,
		exited,
		async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000) {
			if (child.exitCode === null && child.signalCode === null) child.kill(signal);
			const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
			try {
				return await exited;
			} finally {
				clearTimeout(timer);
			}
		},
		waitForOutput(pattern: RegExp, timeoutMs = 20_000) {
			return new Promise<void>((resolveWait, reject) => {
				const check = () => {
					if (pattern.test(output)) {
						done();
						resolveWait();
					} else if (child.exitCode !== null || child.signalCode !== null) {
						done();
						reject(new Error(`${name} exited before printing ${pattern}:\n${output}`));
					}
				};
				const timer = setTimeout(() => {
					done();
					reject(new Error(`${name} did not print ${pattern} in time:\n${output}`));
				}, timeoutMs);
				const done = () => {
					clearTimeout(timer);
					listeners.delete(check);
				};
				listeners.add(check);
				check();
			});
		}
	};
}

/** Polls `probe` until it returns true, or fails after `timeoutMs`. */
export async function eventually(
	probe: () => Promise<boolean>,
	timeoutMs = 20_000,
	what = "condition"
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			if (await probe()) return;
		} catch {
			// Not up yet: try again.
		}
		if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
		await new Promise(r => setTimeout(r, 200));
	}
}

/** What `npm run build` compiles (tsconfig.build.json's `include`), and what configures it. */
const BUILD_INPUTS = [
	"tsconfig.json",
	"tsconfig.build.json",
	"package-lock.json",
	"moleculer.config.ts",
	"services",
	"mixins",
	"lib",
	"types",
	"bench"
];
const BUILD_STAMP = join(ROOT, "dist/.build-stamp");

function filesUnder(path: string): string[] {
	if (!existsSync(path)) return [];
	if (!statSync(path).isDirectory()) return [path];
	return readdirSync(path)
		.sort()
		.flatMap(name => filesUnder(join(path, name)));
}

function sourcesHash(): string {
	const hash = createHash("sha256");
	for (const file of BUILD_INPUTS.flatMap(p => filesUnder(join(ROOT, p)))) {
		hash.update(relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
	}
	return hash.digest("hex");
}

/**
 * `buildProject()`, unless dist/ was built from exactly these sources (a hash of them is kept in
 * dist/.build-stamp): the process suites of one jest run, and runs on unchanged sources, build once.
 */
export function buildOnce(): void {
	const hash = sourcesHash();
	if (existsSync(BUILD_STAMP) && readFileSync(BUILD_STAMP, "utf8") === hash) return;
	buildProject();
	writeFileSync(BUILD_STAMP, hash);
}

/** Debian's nats-server binary (CI installs it), or NATS_SERVER_BIN; null when absent. */
export function natsServerBinary(): string | null {
	const candidates = [
		process.env.NATS_SERVER_BIN,
		"/usr/sbin/nats-server",
		"/usr/bin/nats-server"
	];
	return candidates.find((c): c is string => Boolean(c && existsSync(c))) ?? null;
}

/**
 * A NATS server of a suite's own on a free port of 127.0.0.1, which the suite may stop and start
 * again on the same port (an outage). Never the shared server on 4222.
 */
export class NatsServer {
	private process: NodeProcess | null = null;

	private constructor(
		private readonly binary: string,
		readonly port: number
	) {}

	static async start(binary = natsServerBinary()): Promise<NatsServer> {
		if (!binary) throw new Error("nats-server is not installed");
		const server = new NatsServer(binary, await freePort());
		await server.resume();
		return server;
	}

	get url(): string {
		return `nats://127.0.0.1:${this.port}`;
	}

	/** Starts it (again) on its port; resolves once it accepts connections. */
	async resume(): Promise<void> {
		const child = spawn(this.binary, ["-a", "127.0.0.1", "-p", String(this.port)], {
			stdio: ["ignore", "pipe", "pipe"]
		});
		const exited = new Promise<Exit>(r =>
			child.once("exit", (code, signal) => r({ code, signal }))
		);
		let output = "";
		child.stderr!.on("data", (c: Buffer) => (output += c.toString("utf8")));
		child.stdout!.on("data", (c: Buffer) => (output += c.toString("utf8")));
		this.process = {
			name: `nats-server:${this.port}`,
			child,
			output: () => output,
			exited,
			async stop(signal: NodeJS.Signals = "SIGTERM") {
				if (child.exitCode === null && child.signalCode === null) child.kill(signal);
				return exited;
			},
			waitForOutput: () => Promise.reject(new Error("not supported"))
		};
		await eventually(
			async () => {
				if (child.exitCode !== null) throw new Error(`nats-server exited:\n${output}`);
				return natsAnswers(this.url, 200);
			},
			10_000,
			`nats-server on port ${this.port}`
		);
	}

	/** Kills it (SIGKILL: an outage, not a drain) and waits for the exit. */
	async stop(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
		await this.process?.stop(signal);
		this.process = null;
	}
}
