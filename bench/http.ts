/**
 * HTTP benchmark: REST through the gateway with autocannon, as clients would call it.
 *
 * Topologies (BENCH_ONLY picks some, comma-separated; all by default):
 *   nats    `api`, `auth`+`mail` and `tokens` as three nodes (moleculer-runner processes, as in
 *           production) over a NATS server of the benchmark's own (or NATS_URL)
 *   pair    the gateway on one node, `auth`, `mail` and `tokens` together on another, over NATS
 *           (`auth` then calls `tokens` in process)
 *   single  all four services in one moleculer-runner process, no transporter
 *
 * It signs up a user through the API, follows the verification link from the mail (written to the
 * outbox folder), signs in and creates an API key, then loads:
 *   GET /api/me with X-API-Key          gateway → auth.resolveApiKey → tokens.check (isUsed: true),
 *                                       as fast as it answers, then offered at BENCH_RATE a second
 *   GET /api/me with a Bearer JWT       gateway → auth.resolveAccessToken (no `tokens` call)
 *   POST /api/auth/sign-in              one scrypt hash (N=2^15, r=8: the production cost) each
 *   POST /api/auth/refresh              rotation: tokens.consume + tokens.generate + family update
 *   passkey sign-in                     options (a challenge token) + an ES256 assertion verified
 *   storm                               BENCH_STORM_CONNECTIONS (64) callers signing in with a
 *                                       wrong password while token reads and writes are offered a
 *                                       fixed rate: their p99 quiet, in the storm, and in a storm
 *                                       of GET /health at the same rate (see stormLoad)
 *
 * Bench-only settings, so the figures measure the work and not the limits: the gateway's rate
 * limits (RATE_LIMIT_PUBLIC/USER/ADMIN) and auth's per-login sign-in limit
 * (AUTH_MAX_SIGNIN_ATTEMPTS) are raised to 1e9; nodes log at LOGLEVEL=warn (BENCH_LOGLEVEL; at
 * "info" the gateway logs two lines per request).
 *
 * Knobs: BENCH_SECONDS (per run, 10), BENCH_CONNECTIONS (64), BENCH_SIGNIN_CONNECTIONS (8),
 * BENCH_STORE=postgres (every node on PostgreSQL at BENCH_DATABASE_URL), BENCH_AUDIT=true (the audit
 * service beside auth), BENCH_ONLY (nats,pair,single), BENCH_RUNS (apikey,apikey-rate,apikey-limited,ceiling,jwt,signin,refresh,passkey,storm), BENCH_RATE
 * (8000), BENCH_LOADGEN (autocannon, or wrk for the closed-loop GET loads), BENCH_HOLD (keep the
 * stack up, see hold()), BENCH_NODE_OPTIONS (node flags for every node), NATS_URL,
 * BENCH_PROFILE_DIR (CPU profiles of the nodes). Prints one table, with the CPU each process used
 * (100% = one core), and writes bench-results/http.json.
 */
import { cpus, loadavg } from "node:os";
import { spawn } from "node:child_process";
import autocannon from "autocannon";
import { runLoad } from "./harness";
import { chartSvg } from "./chart";
import { cpuSeconds, formatCpu, sleep, startCeiling, withCpu } from "./processes";
import {
	ADMIN_TOKEN,
	LOGLEVEL,
	PASSKEY_ORIGIN,
	PASSWORD,
	createAccount,
	post,
	startStack,
	type Account,
	type Stack,
	type Topology
} from "./stack";
import { writeResults } from "./results";
import {
	SoftwareAuthenticator,
	type CreationOptions,
	type RequestOptions
} from "./software-authenticator";

const env = process.env;
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 64);
const SIGNIN_CONNECTIONS = Number(env.BENCH_SIGNIN_CONNECTIONS ?? 8);
const WARMUP_SECONDS = 2;
/** BENCH_LOADGEN=wrk: the GET loads from wrk (must be on PATH) instead of autocannon. */
const LOADGEN = env.BENCH_LOADGEN ?? "autocannon";
/**
 * BENCH_RUNS: which loads to run (apikey, apikey-rate, jwt, signin, refresh; refresh needs sign-in's
 * sessions).
 */
const runs = new Set(
	(env.BENCH_RUNS ?? "apikey,apikey-rate,apikey-limited,ceiling,jwt,signin,refresh,passkey,storm")
		.split(",")
		.map(s => s.trim())
);
/** BENCH_RATE: requests per second offered in the fixed-rate run (apikey-rate). */
const RATE = Number(env.BENCH_RATE ?? 8000);
const STORM_CONNECTIONS = Number(env.BENCH_STORM_CONNECTIONS ?? 64);
/**
 * BENCH_STORM_RATE: wrong sign-ins offered per second in the storm, over its connections (30: what
 * 60 client addresses at the gateway's default per-address limit can send, and far more than scrypt
 * can hash here, about 6-12/s). 0: a closed loop, each caller sending again as soon as it has its
 * answer; refused sign-ins answer at once, so that is an HTTP flood too (the gateway's per-address
 * rate limit meets it in production; it is raised here).
 */
const STORM_RATE = Number(env.BENCH_STORM_RATE ?? 30) || undefined;
/** Requests per second offered to each probe (API-key route, token check) in the storm run. */
const PROBE_RATE = 200;

interface HttpResult {
	topology: string;
	name: string;
	/** "autocannon", "wrk", or "fetch" (the refresh loop). */
	loadGenerator: string;
	connections: number;
	perSecond: number;
	p50ms: number;
	p99ms: number;
	requests: number;
	errors: number;
	/** CPU used during the run per process, % of one core. */
	cpu: Record<string, number | null>;
	target?: string;
}

async function load(
	stack: Stack,
	topology: string,
	name: string,
	options: Partial<autocannon.Options> & { connections: number; path?: string },
	target?: string
): Promise<HttpResult> {
	const url = `${stack.base}${options.path ?? ""}`;
	if (LOADGEN === "wrk" && !options.requests && !options.overallRate) {
		return wrkLoad(stack, topology, name, url, options, target);
	}
	const run = (duration: number) =>
		autocannon({ ...options, url, duration }) as unknown as Promise<autocannon.Result>;
	await run(WARMUP_SECONDS);
	const { result, cpu } = await withCpu(stack.pids, () => run(SECONDS));
	const row = probeRow(topology, name, result, options.connections, cpu, target);
	console.log(
		`  ${name}: ${Math.round(row.perSecond)} req/s, p50 ${row.p50ms} ms, p99 ${row.p99ms} ms, ` +
			`${row.errors} errors; CPU ${formatCpu(cpu)}`
	);
	return row;
}

/** Milliseconds from one of wrk's latency figures ("812.00us", "5.12ms", "1.02s"). */
function wrkMs(figure: string): number {
	const match = /^([\d.]+)(us|ms|s)$/.exec(figure);
	if (!match) throw new Error(`wrk latency not understood: ${figure}`);
	const value = Number(match[1]);
	return +(match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value).toFixed(2);
}

/**
 * The same GET load from wrk (BENCH_LOADGEN=wrk): a C load generator, one thread, so less of the
 * two cores goes to the client than with autocannon running in this process. Its CPU is reported
 * as "wrk".
 */
async function wrkLoad(
	stack: Stack,
	topology: string,
	name: string,
	url: string,
	options: Partial<autocannon.Options> & { connections: number },
	target?: string
): Promise<HttpResult> {
	const headers = Object.entries(options.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
	const run = async (seconds: number) => {
		const child = spawn(
			"wrk",
			["-t1", `-c${options.connections}`, `-d${seconds}s`, "--latency", ...headers, url],
			{ stdio: ["ignore", "pipe", "pipe"] }
		);
		let output = "";
		child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
		child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
		// Its CPU time, read while it runs: /proc forgets a process once it has exited.
		let cpu: number | null = null;
		const sampler = setInterval(() => (cpu = cpuSeconds(child.pid!) ?? cpu), 100);
		const code = await new Promise<number | null>(r => child.once("exit", r));
		clearInterval(sampler);
		if (code !== 0) throw new Error(`wrk exited with ${code}:\n${output}`);
		return { output, cpu };
	};
	await run(WARMUP_SECONDS);
	const { result, cpu } = await withCpu(stack.pids, () => run(SECONDS));
	const figure = (pattern: RegExp) => {
		const match = pattern.exec(result.output);
		if (!match) throw new Error(`wrk output without ${pattern}:\n${result.output}`);
		return match[1];
	};
	const requests = Number(figure(/(\d+) requests in/));
	const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(result.output)?.[1] ?? 0);
	const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
		.exec(result.output)
		?.slice(1)
		.reduce((sum, n) => sum + Number(n), 0);
	const row: HttpResult = {
		topology,
		name,
		loadGenerator: "wrk",
		connections: options.connections,
		perSecond: ((requests - non2xx) / requests) * Number(figure(/Requests\/sec:\s+([\d.]+)/)),
		p50ms: wrkMs(figure(/^\s+50%\s+(\S+)$/m)),
		p99ms: wrkMs(figure(/^\s+99%\s+(\S+)$/m)),
		requests,
		errors: non2xx + (socketErrors ?? 0),
		cpu: { ...cpu, wrk: result.cpu === null ? null : Math.round((100 * result.cpu) / SECONDS) },
		target
	};
	console.log(
		`  ${name}: ${Math.round(row.perSecond)} req/s, p50 ${row.p50ms} ms, p99 ${row.p99ms} ms, ` +
			`${row.errors} errors; CPU ${formatCpu(row.cpu)} (wrk)`
	);
	return row;
}

/**
 * Passkey sign-in, beside the password's: each caller asks for options, signs the challenge with a
 * software authenticator (bench/software-authenticator, ES256) and posts the answer; one sign-in is
 * those two requests. SIGNIN_CONNECTIONS callers, a closed loop like refreshLoad.
 */
async function passkeyLoad(stack: Stack, topology: string, account: Account): Promise<HttpResult> {
	const bearer = { authorization: `Bearer ${account.accessToken}` };
	// One authenticator (and passkey) per caller: an authenticator signs one assertion at a time,
	// and its counter must arrive in order (else the passkey is taken for a clone).
	const pool: SoftwareAuthenticator[] = [];
	for (let i = 0; i < SIGNIN_CONNECTIONS; i++) {
		const authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN);
		const creation = await post<CreationOptions>(
			`${stack.base}/api/me/passkeys/options`,
			{},
			bearer
		);
		const response = authenticator.create(creation);
		await post(`${stack.base}/api/me/passkeys`, { response }, bearer);
		pool.push(authenticator);
	}
	const signIn = async () => {
		const authenticator = pool.pop();
		if (!authenticator) throw new Error("no authenticator left");
		try {
			const options = await post<RequestOptions>(
				`${stack.base}/api/auth/passkey/options`,
				{}
			);
			await post(`${stack.base}/api/auth/passkey/sign-in`, {
				response: authenticator.get(options)
			});
		} finally {
			pool.push(authenticator);
		}
	};
	return fetchLoop(
		stack,
		topology,
		"POST /api/auth/passkey/options + sign-in (ES256)*",
		SIGNIN_CONNECTIONS,
		signIn
	);
}

/** A closed loop of `call` (fetch) on `connections` callers: warm-up, then the measured run. */
async function fetchLoop(
	stack: Stack,
	topology: string,
	name: string,
	connections: number,
	call: () => Promise<unknown>
): Promise<HttpResult> {
	await runLoad(WARMUP_SECONDS * 1000, connections, call);
	const { result, cpu } = await withCpu(stack.pids, () =>
		runLoad(SECONDS * 1000, connections, call)
	);
	const row: HttpResult = {
		topology,
		name,
		loadGenerator: "fetch",
		connections,
		perSecond: (result.ops - result.errors) / result.seconds,
		p50ms: +result.p50ms.toFixed(1),
		p99ms: +result.p99ms.toFixed(1),
		requests: result.ops,
		errors: result.errors,
		cpu
	};
	console.log(
		`  ${name}: ${Math.round(row.perSecond)}/s, p50 ${row.p50ms} ms, p99 ${row.p99ms} ms, ` +
			`${row.errors} errors; CPU ${formatCpu(cpu)}`
	);
	return row;
}

/**
 * Refresh-token rotation: each caller spends its refresh token and goes on with the one it gets.
 * Not autocannon: its first request on every connection is one shared prebuilt buffer, so all
 * connections would present the same token, which is reuse and revokes the family.
 */
async function refreshLoad(
	stack: Stack,
	topology: string,
	account: Account,
	refreshTokens: string[]
): Promise<HttpResult> {
	// One session per caller: sign in more if the sign-in run did not start enough of them.
	while (refreshTokens.length < CONNECTIONS) {
		const batch = Math.min(SIGNIN_CONNECTIONS, CONNECTIONS - refreshTokens.length);
		const sessions = await Promise.all(
			Array.from({ length: batch }, () =>
				post<{ refreshToken: string }>(`${stack.base}/api/auth/sign-in`, {
					login: account.login,
					password: PASSWORD
				})
			)
		);
		refreshTokens.push(...sessions.map(s => s.refreshToken));
	}
	const connections = CONNECTIONS;
	// As many tokens as callers: a caller takes one, and puts back the one it gets in exchange.
	const pool = refreshTokens.splice(0, connections);
	const refresh = async () => {
		const refreshToken = pool.pop();
		if (!refreshToken) throw new Error("no refresh token left");
		const res = await fetch(`${stack.base}/api/auth/refresh`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ refreshToken })
		});
		const text = await res.text();
		if (res.status !== 200) throw new Error(`refresh: ${res.status} ${text}`);
		pool.push((JSON.parse(text) as { refreshToken: string }).refreshToken);
	};
	return fetchLoop(stack, topology, "POST /api/auth/refresh (rotation)*", connections, refresh);
}

/** One autocannon run as a table row, with its answers by status in the name. */
function probeRow(
	topology: string,
	name: string,
	result: autocannon.Result,
	connections: number,
	cpu: Record<string, number | null>,
	target?: string
): HttpResult {
	return {
		topology,
		name,
		loadGenerator: "autocannon",
		connections,
		perSecond: result["2xx"] / result.duration,
		p50ms: result.latency.p50,
		p99ms: result.latency.p99,
		requests: result.requests.total,
		errors: result.non2xx + result.errors + result.timeouts,
		cpu,
		target
	};
}

/** autocannon's answers by status, e.g. "79 × 401, 3135 × 503". */
function statusCounts(result: autocannon.Result): string {
	const stats = (result as unknown as { statusCodeStats?: Record<string, { count: number }> })
		.statusCodeStats;
	return Object.entries(stats ?? {})
		.map(([code, { count }]) => `${count} × ${code}`)
		.join(", ");
}

/**
 * Wrong-password sign-ins from many callers at once (each a scrypt run, on the thread pool the
 * store's writes share) while the token routes are offered a modest fixed rate: the API-key route
 * and POST /api/tokens/check (reads) at PROBE_RATE, POST /api/tokens (a write) at a quarter of it.
 * The probes' p99 is shown quiet, during the sign-in storm, and during a storm of GET /health at
 * the sign-in storm's own request rate (the ceiling: what any storm of that rate costs on this
 * machine, the load generator included). auth admits AUTH_HASH_CONCURRENCY hashes and queues
 * AUTH_HASH_QUEUE; the rest of the storm gets 503 at once.
 */
async function stormLoad(stack: Stack, topology: string, account: Account): Promise<HttpResult[]> {
	const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
	const probe = (path: string, rate: number, init: Partial<autocannon.Options>) =>
		autocannon({
			url: `${stack.base}${path}`,
			connections: 8,
			overallRate: rate,
			duration: SECONDS,
			...init
		}) as unknown as Promise<autocannon.Result>;
	const probes = () =>
		Promise.all([
			probe("/api/me", PROBE_RATE, { headers: { "x-api-key": account.apiKey } }),
			probe("/api/tokens/check", PROBE_RATE, {
				method: "POST",
				headers: admin,
				body: JSON.stringify({ type: "api-key", token: account.apiKey })
			}),
			probe("/api/tokens", PROBE_RATE / 4, {
				method: "POST",
				headers: admin,
				body: JSON.stringify({ type: "api-key", owner: "storm-probe" })
			})
		]);
	const withProbes = () => withCpu(stack.pids, probes);
	type Probed = Awaited<ReturnType<typeof withProbes>>;
	const probeRows = (label: string, measured: Probed, target?: string) => [
		probeRow(
			topology,
			`GET /api/me, X-API-Key, ${PROBE_RATE}/s, ${label}`,
			measured.result[0],
			8,
			measured.cpu,
			target
		),
		probeRow(
			topology,
			`POST /api/tokens/check, ${PROBE_RATE}/s, ${label}`,
			measured.result[1],
			8,
			measured.cpu,
			target
		),
		probeRow(
			topology,
			`POST /api/tokens (a write), ${PROBE_RATE / 4}/s, ${label}`,
			measured.result[2],
			8,
			measured.cpu
		)
	];
	/** The probes while `request` is sent over STORM_CONNECTIONS (at `rate`, or a closed loop). */
	const stormWith = async (request: autocannon.Request, rate?: number) => {
		const storm = autocannon({
			url: stack.base,
			connections: STORM_CONNECTIONS,
			...(rate === undefined ? {} : { overallRate: rate }),
			duration: SECONDS + 2,
			requests: [request]
		}) as unknown as Promise<autocannon.Result>;
		await sleep(1000);
		const measured = await withProbes();
		return { measured, storm: await storm };
	};

	await probes();
	const rows: HttpResult[] = probeRows("no storm", await withProbes());
	const signIns = await stormWith(
		{
			method: "POST",
			path: "/api/auth/sign-in",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ login: account.login, password: "a wrong password, every time" })
		},
		STORM_RATE
	);
	const stormRate = Math.max(
		1,
		Math.round(signIns.storm.requests.total / signIns.storm.duration)
	);
	rows.push(
		{
			...probeRow(
				topology,
				`storm: POST /api/auth/sign-in, wrong password, ${STORM_RATE === undefined ? "closed loop" : `offered ${STORM_RATE}/s`} (${statusCounts(signIns.storm)})`,
				signIns.storm,
				STORM_CONNECTIONS,
				signIns.measured.cpu
			),
			perSecond: stormRate
		},
		...probeRows("during the sign-in storm", signIns.measured, "p99 < 50 ms")
	);
	const ceiling = await stormWith({ method: "GET", path: "/health" }, stormRate);
	rows.push(...probeRows(`during ${stormRate}/s of GET /health (ceiling)`, ceiling.measured));
	for (const row of rows) {
		console.log(
			`  ${row.name}: ${Math.round(row.perSecond)} req/s, p50 ${row.p50ms} ms, p99 ${row.p99ms} ms`
		);
	}
	return rows;
}

async function benchTopology(topology: Topology): Promise<HttpResult[]> {
	console.log(`\n${topology}: starting the stack…`);
	const stack = await startStack(topology);
	try {
		const account = await createAccount(stack.base, stack.outbox);
		if (env.BENCH_HOLD) await hold(stack, account);
		const rows: HttpResult[] = [];
		const withApiKey = { headers: { "x-api-key": account.apiKey }, path: "/api/me" };
		if (runs.has("apikey"))
			rows.push(
				await load(
					stack,
					topology,
					"GET /api/me, X-API-Key",
					{ connections: CONNECTIONS, ...withApiKey },
					">= 8,000/s, p99 < 20 ms"
				)
			);
		// The target read literally: 8,000 requests a second offered at a fixed rate, whatever the
		// answers' pace (autocannon corrects latencies for the requests it could not send on time).
		if (runs.has("apikey-rate"))
			rows.push(
				await load(
					stack,
					topology,
					`GET /api/me, X-API-Key, offered ${RATE.toLocaleString("en-US")}/s`,
					{ connections: CONNECTIONS, overallRate: RATE, ...withApiKey },
					"p99 < 20 ms"
				)
			);
		if (runs.has("apikey-limited"))
			rows.push(
				await load(
					stack,
					topology,
					"GET /api/me, X-API-Key with a rate limit and credits",
					{
						connections: CONNECTIONS,
						headers: { "x-api-key": account.limitedKey },
						path: "/api/me"
					},
					">= 12,000/s, p99 <= 12 ms"
				)
			);
		if (runs.has("ceiling")) rows.push(await ceilingLoad(topology));
		if (runs.has("jwt"))
			rows.push(
				await load(stack, topology, "GET /api/me, Bearer JWT", {
					connections: CONNECTIONS,
					headers: { authorization: `Bearer ${account.accessToken}` },
					path: "/api/me"
				})
			);
		// Every successful sign-in starts a session: its refresh token feeds the refresh run.
		const refreshTokens: string[] = [];
		const collect = (status: number, body: string) => {
			if (status === 200 && refreshTokens.length < CONNECTIONS)
				refreshTokens.push((JSON.parse(body) as { refreshToken: string }).refreshToken);
		};
		if (runs.has("signin") || runs.has("refresh"))
			rows.push(
				await load(stack, topology, "POST /api/auth/sign-in (scrypt N=2^15)", {
					connections: SIGNIN_CONNECTIONS,
					requests: [
						{
							method: "POST",
							path: "/api/auth/sign-in",
							headers: { "content-type": "application/json" },
							body: JSON.stringify({ login: account.login, password: PASSWORD }),
							onResponse: collect
						}
					]
				})
			);
		if (runs.has("refresh"))
			rows.push(await refreshLoad(stack, topology, account, refreshTokens));
		if (runs.has("passkey")) rows.push(await passkeyLoad(stack, topology, account));
		if (runs.has("storm")) rows.push(...(await stormLoad(stack, topology, account)));
		return rows;
	} finally {
		await stack.stop();
	}
}

/**
 * The ceiling (bench/ceiling-gateway): moleculer-web alone answering a constant from an action,
 * in a process of its own started for this run, loaded like the routes.
 */
async function ceilingLoad(topology: Topology): Promise<HttpResult> {
	const ceiling = await startCeiling();
	try {
		const stack = { base: ceiling.base, pids: { ceiling: ceiling.process.pid } };
		return await load(
			stack as unknown as Stack,
			topology,
			"GET /constant, moleculer-web alone (ceiling)",
			{ connections: CONNECTIONS, path: "/constant" }
		);
	} finally {
		await ceiling.process.stop();
	}
}

/**
 * BENCH_HOLD=1: keeps the stack up for measuring by hand (another load generator, perf, strace)
 * and prints what a client needs; Ctrl-C (SIGINT) goes on with the runs.
 */
async function hold(stack: Stack, account: Account): Promise<void> {
	console.log(
		`  holding: ${stack.base}/api/me with X-API-Key ${account.apiKey} (limited: ${account.limitedKey}) or Bearer ` +
			`${account.accessToken}; pids ${JSON.stringify(stack.pids)}; SIGINT to go on`
	);
	await new Promise<void>(resolve => process.once("SIGINT", () => resolve()));
}

/** Load generators' own processes: their CPU is not the server's. */
const CLIENT_PROCESSES = new Set(["bench", "wrk"]);

/**
 * CPU the serving processes spent per answered request, in µs (all nodes and NATS together). On a
 * shared, noisy VM this moves far less between runs than req/s does, so it is the figure to
 * compare a route with the ceiling by.
 */
export function serverMicrosPerRequest(row: Pick<HttpResult, "cpu" | "perSecond">): number | null {
	if (row.perSecond <= 0) return null;
	let percent = 0;
	for (const [name, value] of Object.entries(row.cpu)) {
		if (CLIENT_PROCESSES.has(name)) continue;
		if (value === null) return null;
		percent += value;
	}
	return Math.round((percent * 10_000) / row.perSecond);
}

function formatTable(rows: HttpResult[]): string {
	const header = [
		"topology",
		"benchmark",
		"client",
		"conns",
		"req/s",
		"p50 ms",
		"p99 ms",
		"errors",
		"target",
		"server µs/req",
		"CPU (100% = 1 core)"
	];
	const lines = rows.map(r => [
		r.topology,
		r.name,
		r.loadGenerator,
		String(r.connections),
		Math.round(r.perSecond).toLocaleString("en-US"),
		String(r.p50ms),
		String(r.p99ms),
		String(r.errors),
		r.target ?? "",
		String(serverMicrosPerRequest(r) ?? "?"),
		formatCpu(r.cpu)
	]);
	const widths = header.map((h, i) => Math.max(h.length, ...lines.map(l => l[i].length)));
	const numeric = new Set([3, 4, 5, 6, 7, 9]);
	const fmt = (cells: string[]) =>
		cells
			.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
			.join("  ");
	return [fmt(header), widths.map(w => "-".repeat(w)).join("  "), ...lines.map(fmt)].join("\n");
}

async function main(): Promise<void> {
	const only = env.BENCH_ONLY;
	const wanted = new Set((only ?? "nats,pair,single").split(",").map(t => t.trim()));
	const topologies = (["nats", "pair", "single"] as const).filter(t => wanted.has(t));
	const load1 = loadavg()[0];
	console.log(
		`HTTP benchmark: ${SECONDS} s per run after ${WARMUP_SECONDS} s of warm-up, ${CONNECTIONS} connections ` +
			`(${SIGNIN_CONNECTIONS} for sign-in), node ${process.version}, ${cpus().length} cores, ` +
			`load average ${load1.toFixed(2)} before the start`
	);
	const rows: HttpResult[] = [];
	for (const topology of topologies) rows.push(...(await benchTopology(topology)));
	console.log("\n" + formatTable(rows));
	console.log(
		"\nbench = this process (autocannon and fetch run in it); wrk = the wrk process. Latencies: the " +
			"client's (autocannon: 1 ms resolution, successful responses only); * = a closed loop of " +
			"fetch calls (see refreshLoad)."
	);
	writeResults(
		"http",
		{
			loadAverageBefore: +load1.toFixed(2),
			loadGenerator: LOADGEN,
			seconds: SECONDS,
			warmupSeconds: WARMUP_SECONDS,
			connections: CONNECTIONS,
			signInConnections: SIGNIN_CONNECTIONS,
			logLevel: LOGLEVEL,
			results: rows.map(r => ({ ...r, serverMicrosPerRequest: serverMicrosPerRequest(r) }))
		},
		chartSvg(
			`REST through the gateway, ${new Date().toISOString().slice(0, 10)}`,
			rows.map(r => ({
				label: `${r.name} (${r.topology})`,
				perSecond: r.perSecond,
				p99ms: r.p99ms
			}))
		)
	);
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
