/**
 * The `pools` service (leased token pools) on a real broker, with the embedded store writing real
 * files. Time is moved forward by replacing Date.now, never by sleeping.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Errors, type ServiceBroker } from "moleculer";
import PoolsService, { type PoolStats } from "../../../services/pools.service";
import {
	dataDirPerTest,
	removeDir,
	startService,
	tempDataDir,
	expectNoCrudActions
} from "../../helpers/broker";
import { rejection, later, expectInvalidField } from "../../helpers/async";

type Assigned = { token: string; leaseExpiresAt: string };

async function startPools(dataDir: string, settings: Record<string, unknown> = {}) {
	return startService(PoolsService, { dataDir, ...settings });
}

describe("pools service", () => {
	let dataDir: string;
	let broker: ServiceBroker;

	const call = <T>(action: string, params: Record<string, unknown>) =>
		broker.call<T, Record<string, unknown>>(`pools.${action}`, params);
	const generate = (pool = "seats") => call<{ token: string }>("generate", { pool });
	const assign = (clientId: string, pool = "seats") =>
		call<Assigned>("assign", { pool, clientId });
	const stats = (pool = "seats") => call<PoolStats>("stats", { pool });
	const fill = async (n: number, pool = "seats") => {
		const tokens: string[] = [];
		for (let i = 0; i < n; i++) tokens.push((await generate(pool)).token);
		return tokens;
	};

	beforeEach(async () => {
		dataDir = tempDataDir();
		broker = await startPools(dataDir);
	});

	afterEach(async () => {
		await broker.stop();
		removeDir(dataDir);
	});

	describe("generate and configure", () => {
		it("generates recognisable tokens up to the default size of 10, then 403 POOL_FULL", async () => {
			const tokens = await fill(10);
			expect(new Set(tokens).size).toBe(10);
			for (const t of tokens) expect(t).toMatch(/^mtl_[0-9A-Za-z]{36}$/);
			const err = await rejection(generate());
			expect(err).toBeInstanceOf(Errors.MoleculerClientError);
			expect(err).toMatchObject({ code: 403, type: "POOL_FULL" });
			expect(await stats()).toEqual({
				pool: "seats",
				size: 10,
				leaseTime: 60,
				tokenTtl: null,
				tokens: 10,
				available: 10,
				assigned: 0
			});
		});

		it("takes size, lease time and token lifetime per pool", async () => {
			expect(
				await call("configure", { pool: "small", size: 2, leaseTime: 5, tokenTtl: 3600 })
			).toEqual({ pool: "small", size: 2, leaseTime: 5, tokenTtl: 3600 });
			const g = await call<{ token: string; expiresAt: string }>("generate", {
				pool: "small"
			});
			expect(Date.parse(g.expiresAt) - Date.now()).toBeGreaterThan(3590_000);
			await generate("small");
			await expect(generate("small")).rejects.toMatchObject({ type: "POOL_FULL" });
			// Other pools keep the defaults.
			await fill(3, "other");
			expect((await stats("other")).size).toBe(10);
			const a = await assign("c1", "small");
			expect(Date.parse(a.leaseExpiresAt) - Date.now()).toBeLessThanOrEqual(5000);
			expect(Date.parse(a.leaseExpiresAt) - Date.now()).toBeGreaterThan(4000);
		});

		it("exactly 10 of 1,000 concurrent generates succeed in a pool of 10", async () => {
			const results = await Promise.allSettled(
				Array.from({ length: 1000 }, () => generate())
			);
			expect(results.filter(r => r.status === "fulfilled")).toHaveLength(10);
			const types = new Set(
				results
					.filter(r => r.status === "rejected")
					.map(r => (r.reason as Errors.MoleculerError).type)
			);
			expect([...types]).toEqual(["POOL_FULL"]);
			expect((await stats()).tokens).toBe(10);
		});

		it("never stores a token in clear: only its HMAC and its sealed form", async () => {
			const tokens = await fill(3);
			const file = readFileSync(join(dataDir, "pools.db"), "utf8");
			const salt = readFileSync(join(dataDir, "token-salt"), "utf8").trim();
			for (const t of tokens) {
				expect(file).not.toContain(t);
				expect(file).not.toContain(t.slice(4, 34));
			}
			expect(file).not.toContain(salt);
			expect(file).toMatch(/"sealed":"v1\./);
		});
	});

	describe("assign", () => {
		it("hands out a pool token with a lease; 404 NO_TOKEN_AVAILABLE when none is free", async () => {
			const tokens = await fill(2);
			const t0 = Date.now();
			const a = await assign("client-a");
			expect(tokens).toContain(a.token);
			expect(Date.parse(a.leaseExpiresAt)).toBeGreaterThanOrEqual(t0 + 60_000);
			const b = await assign("client-b");
			expect(b.token).not.toBe(a.token);
			const err = await rejection(assign("client-c"));
			expect(err).toMatchObject({ code: 404, type: "NO_TOKEN_AVAILABLE" });
			expect(await stats()).toMatchObject({ tokens: 2, available: 0, assigned: 2 });
			await expect(assign("x", "never-generated")).rejects.toMatchObject({
				type: "NO_TOKEN_AVAILABLE"
			});
		});

		it("gives exactly 10 of 1,000 concurrent clients a token from a pool of 10, none twice", async () => {
			const tokens = await fill(10);
			const results = await Promise.allSettled(
				Array.from({ length: 1000 }, (_, i) => assign(`client-${i}`))
			);
			const won = results
				.filter(r => r.status === "fulfilled")
				.map(r => (r as PromiseFulfilledResult<Assigned>).value.token);
			expect(won).toHaveLength(10);
			expect(new Set(won).size).toBe(10);
			expect(new Set(won)).toEqual(new Set(tokens));
			const types = new Set(
				results
					.filter(r => r.status === "rejected")
					.map(r => (r.reason as Errors.MoleculerError).type)
			);
			expect([...types]).toEqual(["NO_TOKEN_AVAILABLE"]);
			expect(await stats()).toMatchObject({ available: 0, assigned: 10 });
		});

		it("hands out the least recently assigned token first", async () => {
			await fill(2);
			const first = await assign("a");
			await call("unblock", { pool: "seats", token: first.token });
			const second = await assign("b");
			expect(second.token).not.toBe(first.token);
		});
	});

	describe("leases", () => {
		it("an unrenewed lease ends by itself: the token goes back to the pool without a job", async () => {
			const [token] = await fill(1);
			await assign("holder");
			await later(59_000, async () => {
				await expect(assign("other")).rejects.toMatchObject({
					type: "NO_TOKEN_AVAILABLE"
				});
			});
			await later(60_000, async () => {
				expect(await stats()).toMatchObject({ available: 1, assigned: 0 });
				expect((await assign("other")).token).toBe(token);
				// The old holder lost it.
				await expect(
					call("keepAlive", { pool: "seats", token, clientId: "holder" })
				).rejects.toMatchObject({ code: 403, type: "NOT_HOLDER" });
			});
		});

		it("keepAlive by the holder renews the lease; anyone else gets 403 NOT_HOLDER", async () => {
			const [token] = await fill(1);
			await assign("holder");
			const renewed = await later(50_000, () =>
				call<{ ok: true; leaseExpiresAt: string }>("keepAlive", {
					pool: "seats",
					token,
					clientId: "holder"
				})
			);
			expect(renewed.ok).toBe(true);
			expect(Date.parse(renewed.leaseExpiresAt)).toBeGreaterThanOrEqual(
				Date.now() + 110_000 - 1000
			);
			const err = await rejection(
				call("keepAlive", { pool: "seats", token, clientId: "intruder" })
			);
			expect(err).toMatchObject({ code: 403, type: "NOT_HOLDER" });
			// Past the first lease, still held thanks to the renewal...
			await later(100_000, async () => {
				await expect(assign("other")).rejects.toMatchObject({
					type: "NO_TOKEN_AVAILABLE"
				});
			});
			// ...and free once the renewed lease has run out.
			await later(111_000, async () => {
				expect((await assign("other")).token).toBe(token);
			});
		});

		it("keepAlive on a token that was never assigned, or is unknown", async () => {
			const [token] = await fill(1);
			await expect(
				call("keepAlive", { pool: "seats", token, clientId: "c" })
			).rejects.toMatchObject({ code: 403, type: "NOT_HOLDER" });
			await expect(
				call("keepAlive", {
					pool: "seats",
					token: token.slice(0, -8) + "AAAAAAAA",
					clientId: "c"
				})
			).rejects.toMatchObject({ code: 404, type: "NOT_FOUND" });
			// A token belongs to its pool only.
			await expect(
				call("keepAlive", { pool: "elsewhere", token, clientId: "c" })
			).rejects.toMatchObject({ code: 404, type: "NOT_FOUND" });
		});
	});

	describe("keepAlive with the token alone (the pool REST client's body)", () => {
		it("renews the lease of whoever holds it; an unassigned or ended lease is still 403", async () => {
			const [token] = await fill(1);
			await expect(call("keepAlive", { pool: "seats", token })).rejects.toMatchObject({
				code: 403,
				type: "NOT_HOLDER"
			});
			await assign("holder");
			const renewed = await later(50_000, () =>
				call<{ ok: true; leaseExpiresAt: string }>("keepAlive", { pool: "seats", token })
			);
			expect(Date.parse(renewed.leaseExpiresAt)).toBeGreaterThanOrEqual(
				Date.now() + 110_000 - 1000
			);
			// With a clientId it must still match.
			await expect(
				call("keepAlive", { pool: "seats", token, clientId: "intruder" })
			).rejects.toMatchObject({ code: 403, type: "NOT_HOLDER" });
			await later(200_000, async () => {
				await expect(call("keepAlive", { pool: "seats", token })).rejects.toMatchObject({
					code: 403
				});
			});
		});
	});

	describe("unblock and delete", () => {
		it("unblock gives the token back; 403 NOT_ASSIGNED when nobody holds it", async () => {
			const [token] = await fill(1);
			await assign("a");
			expect(await call("unblock", { pool: "seats", token })).toEqual({ ok: true });
			expect(await stats()).toMatchObject({ available: 1, assigned: 0 });
			const err = await rejection(call("unblock", { pool: "seats", token }));
			expect(err).toMatchObject({ code: 403, type: "NOT_ASSIGNED" });
			expect((await assign("b")).token).toBe(token);
			// A lease that ran out is not an assignment any more.
			await later(61_000, async () => {
				await expect(call("unblock", { pool: "seats", token })).rejects.toMatchObject({
					type: "NOT_ASSIGNED"
				});
			});
		});

		it("unblock with a clientId is for the holder only", async () => {
			const [token] = await fill(1);
			await assign("a");
			await expect(
				call("unblock", { pool: "seats", token, clientId: "b" })
			).rejects.toMatchObject({ code: 403, type: "NOT_HOLDER" });
			expect(await call("unblock", { pool: "seats", token, clientId: "a" })).toEqual({
				ok: true
			});
			await expect(
				call("unblock", { pool: "seats", token: "mtl_unknown" })
			).rejects.toMatchObject({ code: 404, type: "NOT_FOUND" });
		});

		it("delete removes a token for good, leased or not, and frees its place", async () => {
			const tokens = await fill(10);
			await assign("a");
			for (const token of tokens.slice(0, 2)) {
				expect(await call("delete", { pool: "seats", token })).toEqual({ ok: true });
			}
			const err = await rejection(call("delete", { pool: "seats", token: tokens[0] }));
			expect(err).toMatchObject({ code: 404, type: "NOT_FOUND" });
			expect((await stats()).tokens).toBe(8);
			await fill(2);
			await expect(generate()).rejects.toMatchObject({ type: "POOL_FULL" });
		});
	});

	describe("token lifetime", () => {
		it("expired tokens are never assigned, stop counting, and free their places", async () => {
			await call("configure", { pool: "ttl", size: 2, leaseTime: 600, tokenTtl: 100 });
			const [token] = await fill(2, "ttl");
			await assign("a", "ttl");
			await later(100_000, async () => {
				expect(await stats("ttl")).toMatchObject({ tokens: 0, available: 0, assigned: 0 });
				await expect(assign("b", "ttl")).rejects.toMatchObject({
					type: "NO_TOKEN_AVAILABLE"
				});
				await expect(
					call("keepAlive", { pool: "ttl", token, clientId: "a" })
				).rejects.toMatchObject({ code: 404, type: "NOT_FOUND" });
				await fill(2, "ttl");
				expect((await stats("ttl")).tokens).toBe(2);
			});
		});

		it("a lease never outlives its token", async () => {
			await call("configure", { pool: "short", size: 1, leaseTime: 600, tokenTtl: 30 });
			const g = await call<{ expiresAt: string }>("generate", { pool: "short" });
			const a = await assign("a", "short");
			expect(a.leaseExpiresAt).toBe(g.expiresAt);
		});
	});

	it("keeps tokens and leases across a restart (real files)", async () => {
		const tokens = await fill(10);
		const held = await Promise.all(Array.from({ length: 10 }, (_, i) => assign(`client-${i}`)));
		await broker.stop();
		broker = await startPools(dataDir);
		await expect(assign("newcomer")).rejects.toMatchObject({ type: "NO_TOKEN_AVAILABLE" });
		const results = await Promise.allSettled(
			Array.from({ length: 100 }, (_, i) => assign(`late-${i}`))
		);
		expect(results.filter(r => r.status === "fulfilled")).toHaveLength(0);
		expect(
			await call("keepAlive", { pool: "seats", token: held[3].token, clientId: "client-3" })
		).toMatchObject({ ok: true });
		await call("unblock", { pool: "seats", token: held[5].token, clientId: "client-5" });
		expect((await assign("newcomer")).token).toBe(held[5].token);
		expect(new Set(held.map(h => h.token))).toEqual(new Set(tokens));
	});

	describe("bad input", () => {
		const secret = "mtl_ThisIsNotARealTokenButLooksLikeOne";
		const cases: [string, Record<string, unknown>, string][] = [
			["generate", {}, "pool"],
			["generate", { pool: "" }, "pool"],
			["generate", { pool: "a/b" }, "pool"],
			["generate", { pool: "x".repeat(65) }, "pool"],
			["generate", { pool: 7 }, "pool"],
			["generate", { pool: "p", size: 3 }, "size"],
			["assign", { pool: "p" }, "clientId"],
			["assign", { pool: "p", clientId: 42 }, "clientId"],
			["assign", { pool: "p", clientId: "" }, "clientId"],
			["assign", { pool: "p", client_id: "c" }, "client_id"],
			["keepAlive", { pool: "p", token: 1, clientId: "c" }, "token"],
			["keepAlive", { pool: "p", token: "t", clientId: 5 }, "clientId"],
			["unblock", { pool: "p", token: "t", clientId: { id: 1 } }, "clientId"],
			["unblock", { pool: "p" }, "token"],
			["delete", { pool: "p", token: ["t"] }, "token"],
			["stats", { pool: null }, "pool"],
			["configure", { pool: "p", size: 0, leaseTime: 60 }, "size"],
			["configure", { pool: "p", size: 100001, leaseTime: 60 }, "size"],
			["configure", { pool: "p", size: 1.5, leaseTime: 60 }, "size"],
			["configure", { pool: "p", size: 5, leaseTime: 0 }, "leaseTime"],
			["configure", { pool: "p", size: 5 }, "leaseTime"],
			["configure", { pool: "p", size: 5, leaseTime: 60, tokenTtl: -1 }, "tokenTtl"]
		];
		it.each(cases.map(([action, params, field]) => [action, field, params] as const))(
			"pools.%s → 422 naming %s (case %#)",
			async (action, field, params) => {
				await expectInvalidField(call(action, params), field);
			}
		);

		it("never echoes a rejected value", async () => {
			const err = await rejection(
				call("keepAlive", { pool: "p", token: secret, clientId: [secret] })
			);
			expect(err.code).toBe(422);
			expect(JSON.stringify(err)).not.toContain(secret);
		});

		it("publishes none of moleculer-db's CRUD actions", () => {
			expectNoCrudActions(broker, "pools");
		});
	});
});

describe("pools and TOKEN_SALT rotation", () => {
	const saltA = "first-salt-".padEnd(40, "a");
	const saltB = "second-salt-".padEnd(40, "b");
	const dataDir = dataDirPerTest();

	it("opens tokens sealed under a previous salt; drops those no configured salt opens", async () => {
		process.env.TOKEN_SALT = saltA;
		let broker = await startPools(dataDir());
		const { token } = await broker.call<{ token: string }, object>("pools.generate", {
			pool: "p"
		});
		await broker.stop();

		process.env.TOKEN_SALT = saltB;
		process.env.TOKEN_SALT_PREVIOUS = saltA;
		broker = await startPools(dataDir());
		const a = await broker.call<Assigned, object>("pools.assign", { pool: "p", clientId: "c" });
		expect(a.token).toBe(token);
		expect(await broker.call("pools.unblock", { pool: "p", token, clientId: "c" })).toEqual({
			ok: true
		});
		await broker.stop();

		delete process.env.TOKEN_SALT_PREVIOUS;
		broker = await startPools(dataDir());
		await expect(
			broker.call("pools.assign", { pool: "p", clientId: "c" })
		).rejects.toMatchObject({ type: "NO_TOKEN_AVAILABLE" });
		expect(await broker.call<PoolStats, object>("pools.stats", { pool: "p" })).toMatchObject({
			tokens: 0
		});
		await broker.stop();
	});

	it("reads pool defaults from the environment", () => {
		process.env.POOLS_DEFAULT_SIZE = "25";
		process.env.POOLS_DEFAULT_LEASE = "2m";
		process.env.POOLS_DEFAULT_TOKEN_TTL = "1d";
		jest.isolateModules(() => {
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const fresh = require("../../../services/pools.service").default as typeof PoolsService;
			expect(fresh.settings!.defaults).toEqual({
				size: 25,
				leaseTime: 120,
				tokenTtl: 86400
			});
		});
		process.env.POOLS_DEFAULT_SIZE = "0";
		jest.isolateModules(() => {
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			expect(() => require("../../../services/pools.service")).toThrow(/POOLS_DEFAULT_SIZE/);
		});
	});
});
