/**
 * `npm run soak`: the `tokens` service under a long mixed load while faults come one after another,
 * with the same real parts as test/e2e/tokens-faults.spec.ts, for longer than CI can wait:
 *
 *   load:   generate, check of a live token, and pairs of concurrent consumes of one token
 *   faults: NATS killed and restarted, the tokens node killed (SIGKILL) and restarted, the data
 *           file unwritable (ENOSPC) for a while; in turn, every SOAK_FAULT_EVERY seconds
 *
 * It keeps a ledger of every answer and checks the promises at the end (exit code 1 if one broke):
 * every token whose generate was answered still checks unless a consume of it was answered; no check
 * ever answered "invalid" for such a token; no token was spent twice; every consumed token stays
 * spent after restarts. It prints failures by kind, the slowest call, and each fault's recovery time.
 *
 * Uses its own nats-server (/usr/sbin/nats-server, or NATS_SERVER_BIN) on a free port of 127.0.0.1,
 * never a shared one. Knobs: SOAK_SECONDS (120), SOAK_FAULT_EVERY (15), SOAK_FAULT_SECONDS (5),
 * SOAK_CONCURRENCY (16). Linux only (the full disk is tokens.db pointed at /dev/full).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Errors } from "moleculer";
import brokerConfig from "../moleculer.config";
import { natsCaller } from "./fixture";
import { freePort } from "./processes";

const env = process.env;
const SECONDS = Number(env.SOAK_SECONDS ?? 120);
const FAULT_EVERY = Number(env.SOAK_FAULT_EVERY ?? 15);
const FAULT_SECONDS = Number(env.SOAK_FAULT_SECONDS ?? 5);
const CONCURRENCY = Number(env.SOAK_CONCURRENCY ?? 16);
const ROOT = join(__dirname, "..", "..");
const NATS_BIN = [env.NATS_SERVER_BIN, "/usr/sbin/nats-server", "/usr/bin/nats-server"].find(
	(p): p is string => Boolean(p && existsSync(p))
);

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

function answers(port: number): Promise<boolean> {
	return new Promise(resolve => {
		const socket = connect({ host: "127.0.0.1", port });
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.once("connect", () => done(true));
		socket.once("error", () => done(false));
	});
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await probe().catch(() => false))) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(100);
	}
}

function stopChild(child: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
	if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise(resolve => {
		child.once("exit", () => resolve());
		child.kill(signal);
	});
}

type State = "live" | "consumed" | "unsure";
interface Entry {
	id: string;
	state: State;
	spent: number;
}

async function main(): Promise<void> {
	if (!NATS_BIN) throw new Error("nats-server is not installed (apt-get install nats-server)");
	const natsPort = await freePort();
	const natsUrl = `nats://127.0.0.1:${natsPort}`;
	const dataDir = mkdtempSync(join(tmpdir(), "tokens-soak-"));
	const dataFile = join(dataDir, "tokens.db");
	const namespace = `soak-${randomBytes(4).toString("hex")}`;
	let nats: ChildProcess | null = null;
	let node: ChildProcess | null = null;

	const startNats = async () => {
		nats = spawn(NATS_BIN, ["-a", "127.0.0.1", "-p", String(natsPort)], { stdio: "ignore" });
		await waitFor("nats-server", () => answers(natsPort));
	};
	const startNode = async () => {
		let output = "";
		node = spawn(
			process.execPath,
			[
				join(ROOT, "node_modules", "moleculer", "bin", "moleculer-runner.js"),
				"--config",
				join(ROOT, "dist", "moleculer.config.js")
			],
			{
				cwd: ROOT,
				stdio: ["ignore", "pipe", "pipe"],
				env: {
					PATH: env.PATH,
					NO_COLOR: "1",
					SERVICES: "tokens",
					NODEID: "soak-tokens",
					NAMESPACE: namespace,
					TRANSPORTER: natsUrl,
					DATA_DIR: dataDir,
					TOKEN_SALT: randomSalt,
					TOKENS_CLEANUP_ENABLED: "false",
					REQUEST_TIMEOUT: "2000",
					HEARTBEAT_INTERVAL: "1",
					HEARTBEAT_TIMEOUT: "3",
					CIRCUITBREAKER_HALFOPENTIME: "2000",
					// Every consume pair has a loser and the final tally checks spent tokens: all
					// failed lookups of this one caller node. The limit has its own tests.
					TOKENS_NODE_FAILURE_BURST: "1000000000",
					TOKENS_NODE_FAILURES_PER_SECOND: "1000000000"
				}
			}
		);
		node.stdout!.on("data", (c: Buffer) => (output += c.toString()));
		node.stderr!.on("data", (c: Buffer) => (output += c.toString()));
		await waitFor("the tokens node", async () => {
			if (node!.exitCode !== null) throw new Error(`tokens node exited:\n${output}`);
			return /started successfully/.test(output);
		});
	};
	const randomSalt = randomBytes(36).toString("base64url");

	await startNats();
	await startNode();
	const caller = natsCaller(namespace, natsUrl, {
		nodeID: "soak-caller",
		requestTimeout: 2000,
		heartbeatInterval: 1,
		heartbeatTimeout: 3,
		circuitBreaker: { ...brokerConfig.circuitBreaker, halfOpenTime: 2000 },
		tracking: { enabled: false }
	});
	await caller.start();
	await caller.waitForServices(["tokens"], 20_000);

	const ledger = new Map<string, Entry>();
	const live: string[] = [];
	const failures = new Map<string, number>();
	const violations: string[] = [];
	let ok = 0;
	let slowest = 0;
	/** The last answered generate: writes are what a full disk stops. */
	let lastWriteAt = Date.now();
	const fail = (err: unknown) => {
		const e = err as Errors.MoleculerError;
		const kind = `${e.type ?? e.name}`;
		failures.set(kind, (failures.get(kind) ?? 0) + 1);
	};
	const timed = async <T>(call: () => Promise<T>): Promise<T> => {
		const t0 = Date.now();
		try {
			const result = await call();
			ok++;
			return result;
		} finally {
			slowest = Math.max(slowest, Date.now() - t0);
		}
	};
	const check = (token: string) =>
		caller.call<{ id: string } | null, object>("tokens.check", { type: "api-key", token });
	const consume = (token: string) =>
		caller.call<{ id: string } | null, object>("tokens.consume", { type: "api-key", token });

	async function step(i: number): Promise<void> {
		const roll = Math.random();
		if (roll < 0.3 || live.length < 20) {
			const g = await timed(() =>
				caller.call<{ id: string; token: string }, object>("tokens.generate", {
					type: "api-key",
					owner: `soak-${i % 100}`
				})
			);
			lastWriteAt = Date.now();
			ledger.set(g.token, { id: g.id, state: "live", spent: 0 });
			live.push(g.token);
		} else if (roll < 0.8) {
			const token = live[Math.floor(Math.random() * live.length)];
			const found = await timed(() => check(token));
			const entry = ledger.get(token)!;
			if (!found && entry.state === "live") {
				violations.push(`check answered "invalid" for a live token (${entry.id})`);
			}
		} else {
			const token = live.splice(Math.floor(Math.random() * live.length), 1)[0];
			const entry = ledger.get(token)!;
			entry.state = "unsure";
			const results = await Promise.allSettled([consume(token), consume(token)]);
			for (const r of results) {
				if (r.status === "fulfilled") {
					ok++;
					if (r.value) entry.spent++;
				} else fail(r.reason);
			}
			if (entry.spent > 0) entry.state = "consumed";
			if (entry.spent > 1) violations.push(`token ${entry.id} spent ${entry.spent} times`);
		}
	}

	let running = true;
	let counter = 0;
	const workers = Array.from({ length: CONCURRENCY }, async () => {
		while (running) {
			try {
				await step(counter++);
			} catch (err) {
				fail(err);
				await sleep(20);
			}
		}
	});

	const recoveries: string[] = [];
	const faults: [string, () => Promise<void>][] = [
		[
			"NATS killed",
			async () => {
				await stopChild(nats, "SIGKILL");
				await sleep(FAULT_SECONDS * 1000);
				await startNats();
			}
		],
		[
			"tokens node SIGKILL",
			async () => {
				await stopChild(node, "SIGKILL");
				await sleep(500);
				await startNode();
			}
		],
		[
			"data file unwritable",
			async () => {
				renameSync(dataFile, `${dataFile}.real`);
				symlinkSync("/dev/full", dataFile);
				await sleep(FAULT_SECONDS * 1000);
				unlinkSync(dataFile);
				renameSync(`${dataFile}.real`, dataFile);
			}
		]
	];

	const started = Date.now();
	console.log(
		`soak: ${SECONDS} s, ${CONCURRENCY} callers, a fault every ${FAULT_EVERY} s ` +
			`(${FAULT_SECONDS} s long), NATS on ${natsPort}, node ${process.version}`
	);
	for (let n = 0; Date.now() - started < SECONDS * 1000; n++) {
		await sleep(Math.min(FAULT_EVERY * 1000, SECONDS * 1000 - (Date.now() - started)));
		if (Date.now() - started >= SECONDS * 1000) break;
		const [name, inject] = faults[n % faults.length];
		const t0 = Date.now();
		await inject();
		const healed = Date.now();
		await waitFor(`recovery from ${name}`, async () => lastWriteAt > healed, 60_000);
		const line = `${name}: healed after ${healed - t0} ms, generates answered again ${lastWriteAt - healed} ms later`;
		recoveries.push(line);
		console.log(`  ${Math.round((Date.now() - started) / 1000)} s  ${line}`);
	}
	running = false;
	await Promise.all(workers);

	// The promises, checked against the ledger once everything is healthy again.
	await sleep(4000); // past the heartbeat timeout: a stable view of the restarted node
	let checked = 0;
	for (const [token, entry] of ledger) {
		const found = await check(token);
		checked++;
		if (entry.state === "live" && !found) violations.push(`live token ${entry.id} lost`);
		if (entry.state === "consumed" && found) violations.push(`spent token ${entry.id} back`);
	}

	console.log(
		`\n${ok} calls answered, ${[...failures.values()].reduce((a, b) => a + b, 0)} failed`
	);
	for (const [kind, count] of [...failures].sort((a, b) => b[1] - a[1])) {
		console.log(`  ${kind}: ${count}`);
	}
	console.log(`slowest call: ${slowest} ms`);
	console.log(`ledger: ${ledger.size} tokens generated, ${checked} checked at the end`);
	for (const line of recoveries) console.log(`  ${line}`);
	console.log(
		violations.length === 0 ? "\nall promises kept" : `\nBROKEN:\n${violations.join("\n")}`
	);

	await caller.stop();
	await stopChild(node, "SIGTERM");
	await stopChild(nats, "SIGTERM");
	rmSync(dataDir, { recursive: true, force: true });
	process.exit(violations.length === 0 ? 0 : 1);
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
