/**
 * Killing a node is routine: separate processes (moleculer-runner on dist/, the project's default
 * heartbeats and timeouts) over real NATS, on one PostgreSQL schema, under load through the gateway.
 *
 * - SIGKILL of one of two `tokens` nodes, then of one of two `auth` nodes, while 8 HTTP clients call
 *   GET /api/me with an API key: no request fails, the slowest answer takes at most 2 s, and the
 *   p99 of the answers sent from 5 s after the kill on is back under 100 ms;
 * - a sibling service's own broker, with the package's failover options, calling tokens.check:
 *   the call the kill caught is answered by another node within 2 s;
 * - a write in flight on a killed node is answered (applied once) or refused with a retryable 503,
 *   never a hang and never a duplicate;
 * - a rolling restart of every node (SIGTERM, start again, next), two gateways behind a balancer
 *   that follows /ready: no request fails.
 */
import { randomBytes } from "node:crypto";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Errors, ServiceBroker } from "moleculer";
import { failoverBrokerOptions } from "../../lib/broker/failover";
import { awaitNodes, NodeCluster, sharedStoreEnv } from "../helpers/cluster";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../helpers/nats";
import { describeWithPostgres, uniqueSchema } from "../helpers/postgres";
import { buildOnce, eventually, freePort, sleep, type NodeProcess } from "../helpers/process";
import { postJson, request } from "../helpers/http";
import { loadLoops } from "../helpers/load";

interface Sample {
	sentAt: number;
	ms: number;
	status: number;
}

/** `clients` loops of `call` until stopped; every answer with when it was sent and how long it took. */
function load(clients: number, call: () => Promise<number>) {
	return loadLoops<Sample>(clients, async () => {
		const sentAt = Date.now();
		const status = await call().catch(() => 0);
		return { sentAt, ms: Date.now() - sentAt, status };
	});
}

function p99(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}

describeWithNats("failover with separate processes", () => {
	describeWithPostgres("killed and restarted nodes", () => {
		const schema = uniqueSchema("failover");
		const namespace = uniqueNamespace("failover");
		const ports: Record<string, number> = {};
		let env: Record<string, string>;
		let apiKey: string;
		let sibling: ServiceBroker;

		const SERVICES: Record<string, string> = {
			"gw-a": "api,mail",
			"gw-b": "api,mail",
			"auth-a": "auth",
			"auth-b": "auth",
			"tokens-a": "tokens",
			"tokens-b": "tokens"
		};
		const cluster = new NodeCluster(SERVICES, schema);
		const nodes = cluster.nodes;

		/** Starts `name` and waits until the sibling sees this process (a new instance) serving. */
		async function start(name: string): Promise<NodeProcess> {
			const before = registryNode(name)?.instanceID;
			const node = cluster.start(
				name,
				name.startsWith("gw-") ? { ...env, PORT: String(ports[name]) } : env
			);
			const service = SERVICES[name].split(",")[0];
			await eventually(
				async () => {
					const seen = registryNode(name);
					return Boolean(
						seen?.available &&
						seen.instanceID !== before &&
						seen.services.some(s => s.name === service)
					);
				},
				30_000,
				`${name} serving ${service}`
			);
			return node;
		}

		function registryNode(name: string) {
			const node = sibling.registry.nodes.get(name);
			return (
				node && {
					available: node.available,
					instanceID: node.instanceID as string,
					services: node.services as { name: string }[]
				}
			);
		}

		const gatewayUrl = (name: string) => `http://127.0.0.1:${ports[name]}`;
		const me = (base: string) =>
			request(`${base}/api/me`, { headers: { "x-api-key": apiKey } }).then(r => r.status);

		/** Waits until the sibling's registry has exactly these nodes for `service`. */
		const nodesOf = (service: string, expected: number) =>
			awaitNodes(sibling, { [service]: expected }, 30_000);

		beforeAll(async () => {
			buildOnce();
			for (const name of ["gw-a", "gw-b"]) ports[name] = await freePort();
			env = {
				...sharedStoreEnv(namespace, schema),
				PUBLIC_URL: "http://127.0.0.1",
				AUTH_REQUIRE_VERIFIED_EMAIL: "false",
				RATE_LIMIT_PUBLIC: "100000",
				RATE_LIMIT_USER: "100000",
				// Four of the balancer's health checks below.
				GATEWAY_DRAIN_DELAY: "1"
			};
			sibling = new ServiceBroker({
				...failoverBrokerOptions(),
				namespace,
				nodeID: "sibling",
				logger: false,
				transporter: natsTransporter(),
				requestTimeout: 10_000
			});
			await sibling.start();
			await Promise.all(Object.keys(SERVICES).map(start));
			await nodesOf("tokens", 2);
			await nodesOf("auth", 2);
			await nodesOf("api", 2);
			const base = gatewayUrl("gw-a");
			const password = "long enough password";
			await postJson(`${base}/api/auth/sign-up`, {
				username: "failover",
				email: "failover@corp.example",
				password
			});
			const session = (
				await postJson(`${base}/api/auth/sign-in`, { login: "failover", password })
			).body as { accessToken: string };
			const made = await postJson(
				`${base}/api/me/api-keys`,
				{ name: "load" },
				{ authorization: `Bearer ${session.accessToken}` }
			);
			apiKey = (made.body as { token: string }).token;
			expect(await me(base)).toBe(200);
		}, 120_000);

		afterAll(async () => {
			await sibling?.stop();
			await cluster.stop("SIGKILL");
		});

		/** Kills `name` under load through gw-a; the figures of the answers after the kill. */
		async function killUnderLoad(name: string) {
			const traffic = load(8, () => me(gatewayUrl("gw-a")));
			await sleep(1500);
			const killedAt = Date.now();
			nodes[name].child.kill("SIGKILL");
			await nodes[name].exited;
			await sleep(7000);
			await traffic.stop();
			const after = traffic.samples.filter(s => s.sentAt + s.ms >= killedAt);
			const late = after.filter(s => s.sentAt >= killedAt + 5000);
			return {
				failed: after.filter(s => s.status !== 200).length,
				slowestMs: Math.max(...after.map(s => s.ms)),
				p99AfterFiveSecondsMs: p99(late.map(s => s.ms)),
				answered: after.length
			};
		}

		it.each([
			{ service: "tokens", node: "tokens-b" },
			{ service: "auth", node: "auth-b" }
		])(
			"SIGKILL of one of two $service nodes: no request fails, none waits over 2 s",
			async ({ service, node }) => {
				const figures = await killUnderLoad(node);
				console.log(`${service} node killed: ${JSON.stringify(figures)}`);
				expect(figures.answered).toBeGreaterThan(100);
				expect(figures.failed).toBe(0);
				expect(figures.slowestMs).toBeLessThanOrEqual(2000);
				expect(figures.p99AfterFiveSecondsMs).toBeLessThanOrEqual(100);
				await start(node);
				await nodesOf(service, 2);
			},
			60_000
		);

		it("a sibling's call caught by the kill is answered by another node within 2 s", async () => {
			// Pinned to tokens-a by its first answer; then tokens-a dies while calls are in flight.
			const check = () => sibling.call("tokens.check", { type: "api-key", token: apiKey });
			expect(await check()).toMatchObject({ type: "api-key" });
			const inFlight: Promise<{ ms: number; ok: boolean }>[] = [];
			const started = Date.now();
			nodes["tokens-a"].child.kill("SIGKILL");
			for (let i = 0; i < 20; i++) {
				const sentAt = Date.now();
				inFlight.push(
					check().then(
						entity => ({ ms: Date.now() - sentAt, ok: entity !== null }),
						() => ({ ms: Date.now() - sentAt, ok: false })
					)
				);
			}
			const answers = await Promise.all(inFlight);
			console.log(`sibling calls: slowest ${Math.max(...answers.map(a => a.ms))} ms`);
			expect(answers.every(a => a.ok)).toBe(true);
			expect(Math.max(...answers.map(a => a.ms))).toBeLessThanOrEqual(2000);
			expect(Date.now() - started).toBeLessThan(3000);
			await nodes["tokens-a"].exited;
			await start("tokens-a");
			await nodesOf("tokens", 2);
		}, 60_000);

		it("a write in flight on a killed node is applied once or refused with a retryable 503", async () => {
			const owner = `failover-${randomBytes(4).toString("hex")}`;
			const generate = () =>
				sibling.call<{ id: string }, object>("tokens.generate", {
					type: "verification",
					owner,
					expiry: 600
				});
			const writes: Promise<{ ok: boolean; retryable?: boolean; ms: number }>[] = [];
			const killAt = Date.now() + 200;
			let killed = false;
			while (Date.now() < killAt + 1000) {
				if (!killed && Date.now() >= killAt) {
					nodes["tokens-b"].child.kill("SIGKILL");
					killed = true;
				}
				const sentAt = Date.now();
				writes.push(
					generate().then(
						() => ({ ok: true, ms: Date.now() - sentAt }),
						(err: Errors.MoleculerError) => ({
							ok: false,
							retryable: err.retryable === true && err.code === 503,
							ms: Date.now() - sentAt
						})
					)
				);
				await sleep(10);
			}
			const results = await Promise.all(writes);
			const refused = results.filter(r => !r.ok);
			console.log(`writes: ${results.length}, refused (retryable 503): ${refused.length}`);
			expect(refused.every(r => r.retryable)).toBe(true);
			expect(Math.max(...results.map(r => r.ms))).toBeLessThanOrEqual(2000);
			const stored = await sibling.call<{ id: string }[], object>("tokens.listByOwner", {
				owner,
				type: "verification"
			});
			// Every acknowledged write is stored once; a refused one at most once (it may have run).
			const acknowledged = results.filter(r => r.ok).length;
			expect(stored.length).toBeGreaterThanOrEqual(acknowledged);
			expect(stored.length).toBeLessThanOrEqual(results.length);
			expect(new Set(stored.map(t => t.id)).size).toBe(stored.length);
			await nodes["tokens-b"].exited;
			await start("tokens-b");
			await nodesOf("tokens", 2);
		}, 60_000);

		it("a rolling restart of every node under load fails no request", async () => {
			const balancer = await readyBalancer(["gw-a", "gw-b"].map(gatewayUrl));
			let phase = "before";
			let phaseAt = Date.now();
			const refusals: string[] = [];
			const traffic = load(6, async () => {
				const res = await request(`${balancer.url}/api/me`, {
					headers: { "x-api-key": apiKey }
				});
				if (res.status !== 200) {
					refusals.push(
						`${phase} +${Date.now() - phaseAt} ms via ${res.headers.get("x-backend")}: ${res.status} ${(res.body as { type?: string })?.type}`
					);
				}
				return res.status;
			});
			try {
				await sleep(1000);
				for (const name of Object.keys(SERVICES)) {
					phase = `${name} stopping`;
					phaseAt = Date.now();
					await nodes[name].stop("SIGTERM", 30_000);
					phase = `${name} starting`;
					await start(name);
					phase = `${name} started`;
					const service = SERVICES[name].split(",")[0];
					await nodesOf(service, 2);
					// The balancer takes a restarted gateway back once its /ready says so.
					await sleep(1200);
				}
			} finally {
				await traffic.stop();
				await balancer.close();
			}
			const failed = traffic.samples.filter(s => s.status !== 200);
			console.log(
				`rolling restart: ${traffic.samples.length} requests, ${failed.length} failed, slowest ${Math.max(...traffic.samples.map(s => s.ms))} ms`
			);
			expect(traffic.samples.length).toBeGreaterThan(200);
			expect(refusals).toEqual([]);
			expect(failed).toEqual([]);
		}, 240_000);
	});
});

/**
 * A load balancer as a test needs one: forwards each request to a gateway whose GET /ready answered
 * 200 at the last check (every 250 ms), round-robin, as a cloud balancer's health check would.
 * A backend that takes over 200 ms to answer its check is taken out.
 */
async function readyBalancer(backends: string[]): Promise<{ url: string; close(): Promise<void> }> {
	const healthy = new Set<string>(backends);
	// Only the newest answer about a backend counts: an older check may come back after a newer one.
	const latest = new Map<string, number>();
	let checks = 0;
	let turn = 0;
	const check = setInterval(() => {
		for (const backend of backends) {
			const id = ++checks;
			latest.set(backend, id);
			const verdict = (ready: boolean) => {
				if (latest.get(backend) !== id) return;
				if (ready) healthy.add(backend);
				else healthy.delete(backend);
			};
			fetch(`${backend}/ready`, { signal: AbortSignal.timeout(200) }).then(
				res => verdict(res.status === 200),
				() => verdict(false)
			);
		}
	}, 250);
	const server: Server = createServer((req, res) => {
		const live = backends.filter(b => healthy.has(b));
		const target = new URL(
			req.url ?? "/",
			live[turn++ % Math.max(1, live.length)] ?? backends[0]
		);
		const upstream = httpRequest(
			target,
			{ method: req.method, headers: req.headers, agent: false },
			answer => {
				res.writeHead(answer.statusCode ?? 502, {
					...answer.headers,
					"x-backend": target.origin
				});
				answer.pipe(res);
			}
		);
		upstream.on("error", () => {
			res.writeHead(502);
			res.end();
		});
		req.pipe(upstream);
	});
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		async close() {
			clearInterval(check);
			await new Promise<void>(resolve => server.close(() => resolve()));
		}
	};
}
