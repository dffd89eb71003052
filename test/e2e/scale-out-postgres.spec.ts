/**
 * Several nodes, one truth: every storing service twice, as separate processes (moleculer-runner on
 * the compiled dist/, as in production) over the real NATS server, sharing one PostgreSQL schema,
 * and no shared folder (each node has a DATA_DIR of its own). This test process joins the cluster as
 * a caller node and pins calls to a chosen node with `nodeID`.
 *
 * - two `tokens` nodes: a token generated on one checks on the other; 1,000 concurrent consumes of
 *   one token, half on each node, have exactly one winner; the nightly cleanup, scheduled every
 *   second on both, reports each expired token exactly once;
 * - two `auth` nodes: 20 concurrent refreshes of one refresh token through both all get the same
 *   successor (the reuse interval), and a later replay of a grandparent still revokes the family;
 *   1,000 concurrent checks of an API key with 100 credits through both give exactly 100 passes,
 *   and 200 of a key limited to 50 an hour exactly 50;
 * - two `links` + `pools` nodes: 1,000 clients asking a pool of 10 through both get exactly 10
 *   distinct leases; a one-time link redeemed concurrently through both runs its action once;
 * - one `tokens` node killed (SIGKILL) under load: the other answers; only calls sent before the
 *   cluster noticed the loss fail; every acknowledged token checks afterwards.
 */
import { randomBytes } from "node:crypto";
import type { Context, ServiceBroker } from "moleculer";
import { createTestBroker } from "../helpers/broker";
import { awaitNodes, NodeCluster, sharedStoreEnv } from "../helpers/cluster";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../helpers/nats";
import { describeWithPostgres, uniqueSchema } from "../helpers/postgres";
import { buildOnce, eventually, freePort } from "../helpers/process";
import { linkIn, startSmtpServer, tokenOf, type TestSmtpServer } from "../helpers/smtp";
import { passedElseRefused } from "../helpers/async";

interface Generated {
	id: string;
	token: string;
}

interface SessionTokens {
	accessToken: string;
	refreshToken: string;
}

type Cleared = { tokens: { id: string }[] };

const NODES: Record<string, string> = {
	"tokens-a": "tokens",
	"tokens-b": "tokens",
	"auth-a": "auth",
	"auth-b": "auth",
	"lp-a": "links,pools",
	"lp-b": "links,pools",
	mail: "mail",
	api: "api"
};

describeWithNats("several nodes of each service on one PostgreSQL", () => {
	describeWithPostgres("scale-out", () => {
		const schema = uniqueSchema("cluster");
		const namespace = uniqueNamespace("scale-out");
		const cluster = new NodeCluster(NODES, schema);
		const cleared: string[] = [];
		const hits: string[] = [];
		let caller: ServiceBroker;
		let smtp: TestSmtpServer;
		let base: string;
		let env: Record<string, string>;

		const start = (name: string) => cluster.start(name, env);

		beforeAll(async () => {
			buildOnce();
			smtp = await startSmtpServer();
			const port = await freePort();
			base = `http://127.0.0.1:${port}`;
			env = {
				...sharedStoreEnv(namespace, schema),
				TOKENS_CLEANUP_CRON: "* * * * * *",
				LINKS_ALLOWED_ACTIONS: "e2e.hit",
				PORT: String(port),
				PUBLIC_URL: base,
				SMTP_URL: smtp.url,
				REQUEST_TIMEOUT: "5000",
				// The caller below drops a silent node after 5 s; every node says it is alive each second.
				HEARTBEAT_INTERVAL: "1",
				HEARTBEAT_TIMEOUT: "5"
			};
			caller = createTestBroker({
				namespace,
				nodeID: "caller",
				transporter: natsTransporter(),
				// A killed node is noticed within about 5 s (the nodes' heartbeats come every second),
				// and a call to it gives up after 2 s (retried elsewhere, except consume).
				heartbeatInterval: 1,
				heartbeatTimeout: 5,
				requestTimeout: 2000
			});
			caller.createService({
				name: "e2e",
				actions: {
					hit(ctx: Context<{ n: string }>) {
						hits.push(ctx.params.n);
						return { ok: true };
					}
				},
				events: {
					"tokens.expiredCleared"(ctx: Context<Cleared>) {
						for (const t of ctx.params.tokens) cleared.push(t.id);
					}
				}
			});
			await caller.start();
			for (const name of cluster.names) start(name);
			await caller.waitForServices(
				["tokens", "auth", "links", "pools", "mail", "api"],
				60_000
			);
			await awaitNodes(caller, { tokens: 2, auth: 2, pools: 2 });
		}, 120_000);

		afterAll(() => cluster.stop("SIGTERM", caller, smtp), 60_000);

		const on = (nodeID: string) => ({ nodeID });

		/** A new account, signed up on auth-a and verified (on `verifyOn`, if given) by its mail. */
		async function verifiedAccount(prefix: string, verifyOn?: string) {
			const username = `${prefix}${randomBytes(3).toString("hex")}`;
			const email = `${username}@example.com`;
			const password = "a long enough password";
			await caller.call("auth.signUp", { username, email, password }, on("auth-a"));
			const mail = await smtp.waitFor(m => m.to.includes(email));
			const token = tokenOf(linkIn(mail, "/verify-email"));
			const where = verifyOn === undefined ? undefined : on(verifyOn);
			await caller.call("auth.verifyEmail", { token, password }, where);
			return { username, password };
		}

		it("checks on one tokens node a token generated through the other", async () => {
			const made = await caller.call<Generated, object>(
				"tokens.generate",
				{ type: "api-key", owner: "u1" },
				on("tokens-a")
			);
			const onNode = (action: string, node: string) =>
				caller.call(action, { type: "api-key", token: made.token }, on(node));
			expect(await onNode("tokens.check", "tokens-b")).toMatchObject({
				id: made.id,
				owner: "u1"
			});
			await onNode("tokens.remove", "tokens-b");
			// Refused by the other node as soon as the removal answered: nothing is cached.
			expect(await onNode("tokens.check", "tokens-a")).toBeNull();
		});

		it("gives exactly one of 1,000 concurrent consumes, half on each node, the token", async () => {
			const made = await caller.call<Generated, object>(
				"tokens.generate",
				{ type: "password-reset", owner: "u2" },
				on("tokens-a")
			);
			const results = await Promise.allSettled(
				Array.from({ length: 1000 }, (_, i) =>
					caller.call<{ id: string } | null, object>(
						"tokens.consume",
						{ type: "password-reset", token: made.token },
						// What is tested is who wins, not how fast: a busy CI machine may take
						// longer than the caller's 2 s for the last of a thousand.
						{ ...on(i % 2 ? "tokens-a" : "tokens-b"), timeout: 20_000 }
					)
				)
			);
			// The others got nothing, or were told to stop guessing (failed lookups are limited).
			const won = passedElseRefused(results, 429, "TOO_MANY_FAILURES").filter(
				v => v !== null
			);
			expect(won).toHaveLength(1);
			expect(won[0]?.id).toBe(made.id);
		});

		it("leases exactly 10 distinct tokens to 1,000 clients of a pool of 10 on both pools nodes", async () => {
			await caller.call("pools.configure", { pool: "shared", size: 10, leaseTime: 60 });
			// Generated through both nodes at once: the slots still cap the pool at 10.
			const generated = await Promise.allSettled(
				Array.from({ length: 30 }, (_, i) =>
					caller.call("pools.generate", { pool: "shared" }, on(i % 2 ? "lp-a" : "lp-b"))
				)
			);
			expect(generated.filter(r => r.status === "fulfilled")).toHaveLength(10);
			const results = await Promise.allSettled(
				Array.from({ length: 1000 }, (_, i) =>
					caller.call<{ token: string }, object>(
						"pools.assign",
						{ pool: "shared", clientId: `client-${i}` },
						{ ...on(i % 2 ? "lp-a" : "lp-b"), timeout: 20_000 }
					)
				)
			);
			const won = results.filter(r => r.status === "fulfilled") as PromiseFulfilledResult<{
				token: string;
			}>[];
			expect(won).toHaveLength(10);
			expect(new Set(won.map(r => r.value.token)).size).toBe(10);
		});

		it("runs a one-time link's action once when both links nodes redeem it at once", async () => {
			const link = await caller.call<{ token: string }, object>("links.create", {
				owner: "u3",
				action: "e2e.hit",
				params: { n: "once" },
				expiry: 600
			});
			const results = await Promise.allSettled(
				Array.from({ length: 400 }, (_, i) =>
					caller.call("links.redeem", { token: link.token }, on(i % 2 ? "lp-a" : "lp-b"))
				)
			);
			expect(results.filter(r => r.status === "fulfilled")).toHaveLength(1);
			expect(hits.filter(h => h === "once")).toHaveLength(1);
		});

		it("keeps a session alive through concurrent refreshes on both auth nodes, and still catches a replay", async () => {
			const { username, password } = await verifiedAccount("racer", "auth-b");
			const session = await caller.call<SessionTokens, object>(
				"auth.signIn",
				{ login: username, password },
				on("auth-a")
			);
			// Two tabs (and more) refreshing at once through both auth nodes: within the reuse
			// interval every one gets the same successor, and the session stays alive.
			const results = await Promise.all(
				Array.from({ length: 20 }, (_, i) =>
					caller.call<SessionTokens, object>(
						"auth.refresh",
						{ refreshToken: session.refreshToken },
						on(i % 2 ? "auth-a" : "auth-b")
					)
				)
			);
			const successors = new Set(results.map(r => r.refreshToken));
			expect(successors.size).toBe(1);
			const [successor] = successors;
			const next = await caller.call<SessionTokens, object>(
				"auth.refresh",
				{ refreshToken: successor },
				on("auth-b")
			);
			expect(next.refreshToken).not.toBe(successor);
			// The successor's parent is now a grandparent: a replay, which revokes the family.
			await expect(
				caller.call("auth.refresh", { refreshToken: session.refreshToken }, on("auth-a"))
			).rejects.toMatchObject({ code: 401 });
			await expect(
				caller.call("auth.refresh", { refreshToken: next.refreshToken }, on("auth-b"))
			).rejects.toMatchObject({ code: 401 });
			// A sign-in through one auth node is a session the gateway accepts.
			const fresh = await caller.call<SessionTokens, object>(
				"auth.signIn",
				{ login: username, password },
				on("auth-b")
			);
			const me = await fetch(`${base}/api/me`, {
				headers: { authorization: `Bearer ${fresh.accessToken}` }
			});
			expect(me.status).toBe(200);
			expect(await me.json()).toMatchObject({ username });
		}, 30_000);

		it("serves the service API across both auth nodes: issue on one, validate, refresh and invalidate on the other", async () => {
			const subject = `profile-${randomBytes(3).toString("hex")}`;
			const pair = await caller.call<SessionTokens, object>(
				"auth.issueTokens",
				{ subject, scopes: ["read"] },
				on("auth-a")
			);
			await expect(
				caller.call(
					"auth.validateToken",
					{ token: pair.accessToken, subject },
					on("auth-b")
				)
			).resolves.toMatchObject({ subject, scopes: ["read"] });
			const next = await caller.call<SessionTokens, object>(
				"auth.refresh",
				{ refreshToken: pair.refreshToken },
				on("auth-b")
			);
			await caller.call("auth.invalidateTokens", { subject }, on("auth-a"));
			for (const token of [pair.accessToken, next.accessToken]) {
				await expect(
					caller.call("auth.validateToken", { token }, on("auth-b"))
				).rejects.toMatchObject({ code: 401 });
			}
			await expect(
				caller.call("auth.refresh", { refreshToken: next.refreshToken }, on("auth-a"))
			).rejects.toMatchObject({ code: 401 });
		});

		it("shares signing keys: a key rotated in on one auth node verifies on the other at once", async () => {
			const subject = `rot-${randomBytes(3).toString("hex")}`;
			await caller.call("auth.rotateSigningKey", { publishDelay: 0 }, on("auth-b"));
			const pair = await caller.call<SessionTokens, object>(
				"auth.issueTokens",
				{ subject },
				on("auth-b")
			);
			await expect(
				caller.call("auth.validateToken", { token: pair.accessToken }, on("auth-a"))
			).resolves.toMatchObject({ subject });
			const jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json();
			const kid = JSON.parse(
				Buffer.from(pair.accessToken.split(".")[0], "base64url").toString()
			).kid;
			expect((jwks as { keys: { kid: string }[] }).keys.map(k => k.kid)).toContain(kid);
		});

		it("keeps a cookie session through the gateway process, with tabs refreshing at once on both auth nodes", async () => {
			const { username, password } = await verifiedAccount("cookie");
			const post = (path: string, body: unknown, headers: Record<string, string>) =>
				fetch(`${base}${path}`, {
					method: "POST",
					headers: { "content-type": "application/json", ...headers },
					body: JSON.stringify(body)
				});
			const cookiesOf = (res: Response) =>
				res.headers
					.getSetCookie()
					.map(c => c.split(";")[0])
					.join("; ");
			const signedIn = await post(
				"/api/auth/sign-in",
				{ login: username, password, cookie: true },
				{ origin: base }
			);
			expect(signedIn.status).toBe(200);
			const jar = cookiesOf(signedIn);
			const refreshes = await Promise.all(
				Array.from({ length: 10 }, () =>
					post("/api/auth/refresh", {}, { origin: base, cookie: jar })
				)
			);
			expect(refreshes.map(r => r.status)).toEqual(Array(10).fill(200));
			// Every tab got the same successor: one live session.
			expect(new Set(refreshes.map(r => cookiesOf(r).split("; ")[1])).size).toBe(1);
			const next = cookiesOf(refreshes[0]);
			const me = await fetch(`${base}/api/me`, { headers: { cookie: next } });
			expect(me.status).toBe(200);
			const forged = await post(
				"/api/me/sign-out-everywhere",
				{},
				{ origin: "https://evil.example", cookie: next }
			);
			expect(forged.status).toBe(403);
			const out = await post("/api/auth/sign-out", {}, { origin: base, cookie: next });
			expect(out.status).toBe(200);
			expect(out.headers.getSetCookie().every(c => c.includes("Max-Age=0"))).toBe(true);
			expect((await fetch(`${base}/api/me`, { headers: { cookie: next } })).status).toBe(401);
		}, 30_000);

		it("spends each of a key's 100 credits once, and counts its rate limit once, across both auth nodes", async () => {
			const { username, password } = await verifiedAccount("metered");
			const session = await caller.call<SessionTokens, object>("auth.signIn", {
				login: username,
				password
			});
			const create = async (body: object) => {
				const res = await fetch(`${base}/api/me/api-keys`, {
					method: "POST",
					headers: {
						"content-type": "application/json",
						authorization: `Bearer ${session.accessToken}`
					},
					body: JSON.stringify(body)
				});
				expect(res.status).toBe(200);
				return ((await res.json()) as { token: string }).token;
			};
			const verifyOnBoth = (key: string, n: number) =>
				Promise.all(
					Array.from({ length: n }, (_, i) =>
						caller.call<{ code: string }, object>(
							"auth.verifyKey",
							{ key },
							{ ...on(i % 2 ? "auth-a" : "auth-b"), timeout: 20_000 }
						)
					)
				);
			const metered = await create({ name: "metered", credits: { remaining: 100 } });
			const spent = await verifyOnBoth(metered, 1000);
			expect(spent.filter(v => v.code === "VALID")).toHaveLength(100);
			expect(spent.filter(v => v.code === "USAGE_EXCEEDED")).toHaveLength(900);
			const limited = await create({
				name: "limited",
				rateLimits: [{ name: "hourly", limit: 50, duration: 3600 }]
			});
			const hits = await verifyOnBoth(limited, 200);
			expect(hits.filter(v => v.code === "VALID")).toHaveLength(50);
			expect(hits.filter(v => v.code === "RATE_LIMITED")).toHaveLength(150);
		}, 60_000);

		it("reports each expired token exactly once though both nodes run the cleanup every second", async () => {
			const made = await Promise.all(
				Array.from({ length: 50 }, (_, i) =>
					caller.call<Generated, object>(
						"tokens.generate",
						{ type: "passwordless", owner: "u4", expiry: 1 },
						on(i % 2 ? "tokens-a" : "tokens-b")
					)
				)
			);
			const ids = made.map(m => m.id);
			await eventually(
				async () => ids.every(id => cleared.includes(id)),
				15_000,
				"every expired token reported"
			);
			// A few more runs on both nodes: nobody reports them again.
			await new Promise(resolve => setTimeout(resolve, 2500));
			for (const id of ids) expect(cleared.filter(c => c === id)).toHaveLength(1);
		}, 30_000);

		it("keeps answering through the other tokens node when one is killed under load", async () => {
			const acknowledged: string[] = [];
			/** When each failed call was sent, and why it failed. */
			const failedAt: number[] = [];
			const failures: string[] = [];
			let stop = false;
			const load = async (worker: number) => {
				while (!stop) {
					const sentAt = Date.now();
					try {
						const made = await caller.call<Generated, object>("tokens.generate", {
							type: "api-key",
							owner: `load-${worker}`
						});
						acknowledged.push(made.token);
						await caller.call("tokens.check", { type: "api-key", token: made.token });
					} catch (err) {
						failedAt.push(sentAt);
						const e = err as { type?: string; code?: number };
						failures.push(`${sentAt} ${e.code} ${e.type}`);
						// A call refused at once (no endpoint, open breaker) must not spin this loop
						// in microtasks and starve the timers.
						await new Promise(resolve => setTimeout(resolve, 20));
					}
				}
			};
			const workers = Array.from({ length: 16 }, (_, w) => load(w));
			await eventually(async () => acknowledged.length > 200, 20_000, "load running");
			// When the caller's registry drops the killed node (its heartbeats stopped).
			let noticedAt = Infinity;
			caller.localBus.on("$node.disconnected", (payload: { node: { id: string } }) => {
				if (payload.node.id === "tokens-b") noticedAt = Date.now();
			});
			cluster.nodes["tokens-b"].child.kill("SIGKILL");
			const killedAt = Date.now();
			await eventually(
				async () => acknowledged.length > 0 && Date.now() > killedAt + 5000,
				20_000,
				"five seconds after the kill"
			);
			const atFive = acknowledged.length;
			await eventually(
				async () => acknowledged.length > atFive + 300,
				20_000,
				"the surviving node answering"
			);
			stop = true;
			await Promise.all(workers);
			// The registry drops the silent node by its missing heartbeats (timeout 5 s here, later
			// when the machine is busy); calls avoided it well before (lib/broker/failover).
			await eventually(async () => noticedAt < Infinity, 15_000, "the registry dropping it");
			expect(noticedAt - killedAt).toBeLessThan(15_000);
			const late = failures.filter((_, i) => failedAt[i] > noticedAt + 100);
			expect({ noticedAfterMs: noticedAt - killedAt, late }).toEqual({
				noticedAfterMs: noticedAt - killedAt,
				late: []
			});
			// In chunks: thousands of calls at once would only measure the caller's request timeout.
			const missing: string[] = [];
			for (let i = 0; i < acknowledged.length; i += 200) {
				const chunk = acknowledged.slice(i, i + 200);
				const checks = await Promise.all(
					chunk.map(token =>
						caller.call("tokens.check", { type: "api-key", token }, on("tokens-a"))
					)
				);
				missing.push(...chunk.filter((_, j) => checks[j] === null));
			}
			expect(missing).toHaveLength(0);
		}, 60_000);
	});
});
