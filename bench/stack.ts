/**
 * The stack the HTTP benchmarks load (bench/http.ts, bench/http-instructions.ts): the services as
 * moleculer-runner nodes in one of the topologies, each run on throwaway salts, data folders and
 * (BENCH_STORE=postgres) a PostgreSQL schema of its own, and an account made through the API as a
 * client would make it.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_DATABASE_URL, benchSchema, dropBenchSchema } from "./postgres-ceiling";
import {
	freePort,
	sleep,
	startNatsServer,
	startRunnerNode,
	type BenchProcess,
	type NodeCommand
} from "./processes";

const env = process.env;
export const LOGLEVEL = env.BENCH_LOGLEVEL ?? "warn";
const UNLIMITED = "1000000000";
/** The benchmark's own admin credential (a throwaway, like its salts). */
export const ADMIN_TOKEN = randomBytes(32).toString("base64url");
export const PASSWORD = "bench password, long enough";
export const PASSKEY_ORIGIN = "http://localhost:3000";

export interface Stack {
	base: string;
	outbox: string;
	/** Processes whose CPU use is reported. */
	pids: Record<string, number>;
	stop(): Promise<void>;
}

function secret(): string {
	return randomBytes(48).toString("base64url");
}

export type Topology = "nats" | "pair" | "single";

/** BENCH_AUDIT=true: the audit trail runs beside auth (each sign-in and failure is recorded). */
const AUDIT = env.BENCH_AUDIT === "true" ? ",audit" : "";

/** The nodes of each topology over NATS: name and SERVICES. */
const NODES: Record<Exclude<Topology, "single">, [string, string][]> = {
	nats: [
		["tokens", "tokens"],
		["auth", `auth,mail${AUDIT}`],
		["api", "api"]
	],
	pair: [
		["services", `tokens,auth,mail${AUDIT}`],
		["api", "api"]
	]
};

/** `nodeCommand`: how to run each node (under a tool); `readyMs`: how long they may take to be ready. */
export async function startStack(
	topology: Topology,
	{ nodeCommand, readyMs = 60_000 }: { nodeCommand?: NodeCommand; readyMs?: number } = {}
): Promise<Stack> {
	const root = mkdtempSync(join(tmpdir(), "http-bench-"));
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;
	const outbox = join(root, "outbox");
	const processes: BenchProcess[] = [];
	const pids: Record<string, number> = { bench: process.pid };
	// BENCH_STORE=postgres: every node on one PostgreSQL schema of this run's own.
	const schema = env.BENCH_STORE === "postgres" ? benchSchema() : null;
	const common = {
		...(schema ? { DATABASE_URL: BENCH_DATABASE_URL, DATABASE_SCHEMA: schema } : {}),
		NAMESPACE: `bench-${randomBytes(4).toString("hex")}`,
		LOGLEVEL,
		TOKEN_SALT: secret(),
		JWT_SECRET: secret(),
		PORT: String(port),
		IP: "127.0.0.1",
		PUBLIC_URL: base,
		// The passkey run signs with bench/software-authenticator, on this origin.
		WEBAUTHN_RP_ID: "localhost",
		WEBAUTHN_ORIGINS: PASSKEY_ORIGIN,
		MAIL_OUTBOX_DIR: outbox,
		RATE_LIMIT_PUBLIC: UNLIMITED,
		RATE_LIMIT_USER: UNLIMITED,
		RATE_LIMIT_ADMIN: UNLIMITED,
		AUTH_MAX_SIGNIN_ATTEMPTS: UNLIMITED,
		AUTH_MAX_FAILURES_PER_ADDRESS: UNLIMITED,
		ADMIN_TOKEN,
		TOKENS_CLEANUP_ENABLED: "false",
		AUTH_CLEANUP_ENABLED: "false",
		// Passed on for comparisons (the hash gate's sizes; NATS_BATCH_WRITES=false: one socket
		// write per packet).
		...(env.AUTH_HASH_CONCURRENCY ? { AUTH_HASH_CONCURRENCY: env.AUTH_HASH_CONCURRENCY } : {}),
		...(env.AUTH_HASH_QUEUE ? { AUTH_HASH_QUEUE: env.AUTH_HASH_QUEUE } : {}),
		...(env.PASSWORD_SCRYPT_N ? { PASSWORD_SCRYPT_N: env.PASSWORD_SCRYPT_N } : {}),
		...(env.NATS_BATCH_WRITES ? { NATS_BATCH_WRITES: env.NATS_BATCH_WRITES } : {}),
		// BENCH_NODE_OPTIONS: node flags for every node (e.g. --max-semi-space-size=32).
		...(env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: env.BENCH_NODE_OPTIONS } : {})
	};
	const stop = async () => {
		await Promise.all(processes.reverse().map(p => p.stop()));
		rmSync(root, { recursive: true, force: true });
		if (schema) await dropBenchSchema(schema);
	};
	try {
		if (topology === "single") {
			const node = startRunnerNode(
				"bench-all",
				`tokens,auth,mail,api${AUDIT}`,
				{ ...common, DATA_DIR: join(root, "all") },
				nodeCommand
			);
			processes.push(node);
			pids.node = node.pid;
		} else {
			let natsUrl = env.NATS_URL;
			if (!natsUrl) {
				const nats = await startNatsServer();
				processes.push(nats.process);
				pids.nats = nats.process.pid;
				natsUrl = nats.url;
			}
			for (const [name, services] of NODES[topology]) {
				const node = startRunnerNode(
					`bench-${name}`,
					services,
					{ ...common, TRANSPORTER: natsUrl, DATA_DIR: join(root, name) },
					nodeCommand
				);
				processes.push(node);
				pids[name] = node.pid;
			}
		}
		await waitUntilReady(base, processes, readyMs);
		return { base, outbox, pids, stop };
	} catch (err) {
		await stop();
		throw err;
	}
}

async function waitUntilReady(
	base: string,
	processes: BenchProcess[],
	readyMs: number
): Promise<void> {
	const deadline = Date.now() + readyMs;
	while (Date.now() < deadline) {
		try {
			if ((await fetch(`${base}/ready`)).status === 200) return;
		} catch {
			// Not listening yet.
		}
		await sleep(200);
	}
	throw new Error(
		`GET /ready never answered 200:\n${processes.map(p => `--- ${p.name}\n${p.output()}`).join("\n")}`
	);
}

export async function post<T>(
	url: string,
	body: unknown,
	headers: Record<string, string> = {}
): Promise<T> {
	const res = await fetch(url, {
		method: "POST",
		headers: { "content-type": "application/json", ...headers },
		body: JSON.stringify(body)
	});
	const text = await res.text();
	if (!res.ok) throw new Error(`POST ${new URL(url).pathname}: ${res.status} ${text}`);
	return JSON.parse(text) as T;
}

/** The verification token in the first mail of the outbox (quoted-printable decoded). */
async function verificationToken(outbox: string): Promise<string> {
	const deadline = Date.now() + 20_000;
	while (Date.now() < deadline) {
		let files: string[] = [];
		try {
			files = readdirSync(outbox).filter(f => f.endsWith(".eml"));
		} catch {
			// The folder appears with the first mail.
		}
		for (const file of files) {
			const text = readFileSync(join(outbox, file), "utf8")
				.replace(/=\r?\n/g, "")
				.replace(/=([0-9A-F]{2})/g, (_, hex: string) =>
					String.fromCharCode(parseInt(hex, 16))
				);
			const match = /\/verify-email\?token=([A-Za-z0-9_]+)/.exec(text);
			if (match) return match[1];
		}
		await sleep(100);
	}
	throw new Error(`No verification mail in ${outbox}`);
}

export interface Account {
	login: string;
	accessToken: string;
	apiKey: string;
	/** A key with a rate limit and credits it never runs out of during a run. */
	limitedKey: string;
}

/** A verified user with an API key, made through the API as a client would. */
export async function createAccount(base: string, outbox: string): Promise<Account> {
	const login = "bench";
	await post(`${base}/api/auth/sign-up`, {
		username: login,
		email: "bench@example.test",
		password: PASSWORD
	});
	await post(`${base}/api/auth/verify-email`, {
		token: await verificationToken(outbox),
		password: PASSWORD
	});
	const { accessToken } = await post<{ accessToken: string }>(`${base}/api/auth/sign-in`, {
		login,
		password: PASSWORD
	});
	const { token: apiKey } = await post<{ token: string }>(
		`${base}/api/me/api-keys`,
		{ name: "bench" },
		{ authorization: `Bearer ${accessToken}` }
	);
	const { token: limitedKey } = await post<{ token: string }>(
		`${base}/api/me/api-keys`,
		{
			name: "bench-limited",
			rateLimits: [{ name: "bench", limit: 1_000_000_000, duration: 3600 }],
			credits: { remaining: 1_000_000_000 }
		},
		{ authorization: `Bearer ${accessToken}` }
	);
	return { login, accessToken, apiKey, limitedKey };
}
