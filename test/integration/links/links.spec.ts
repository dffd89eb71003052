/**
 * The `links` service (one-time action links) on a real broker, with the embedded store writing
 * real files, and a `newsletter` service as the target of the links.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Errors, type Context, type ServiceBroker, type ServiceSchema } from "moleculer";
import LinksService, {
	type CreatedLink,
	type LinkEntity,
	type RedeemResult
} from "../../../services/links.service";
import {
	createTestBroker,
	removeDir,
	tempDataDir,
	withSettings,
	expectNoCrudActions
} from "../../helpers/broker";
import { expectEmittedWithout, rejection, later, expectInvalidField } from "../../helpers/async";

interface Call {
	params: Record<string, unknown>;
	link: unknown;
}

const ALLOWED = ["newsletter.subscribe", "newsletter.fail", "newsletter.strict", "absent.action"];

/** The links' target: records every call; `fail` throws after "doing something". */
function newsletterService(calls: Call[]): ServiceSchema {
	return {
		name: "newsletter",
		actions: {
			subscribe(ctx: Context<Record<string, unknown>, { link?: unknown }>) {
				calls.push({ params: ctx.params, link: ctx.meta.link });
				return { subscribed: ctx.params.email ?? null };
			},
			fail(ctx: Context<Record<string, unknown>, { link?: unknown }>) {
				calls.push({ params: ctx.params, link: ctx.meta.link });
				throw new Errors.MoleculerError("upstream broke", 502, "UPSTREAM");
			},
			strict: {
				params: { $$strict: true, email: "email" },
				handler(ctx: Context<Record<string, unknown>>) {
					calls.push({ params: ctx.params, link: null });
					return true;
				}
			}
		}
	};
}

async function startNode(
	dataDir: string,
	calls: Call[],
	settings: Record<string, unknown> = {},
	...others: ServiceSchema[]
) {
	const broker = createTestBroker();
	broker.createService(
		withSettings(LinksService, { dataDir, allowedActions: ALLOWED, ...settings })
	);
	broker.createService(newsletterService(calls));
	for (const schema of others) broker.createService(schema);
	await broker.start();
	return broker;
}

describe("links service", () => {
	let dataDir: string;
	let broker: ServiceBroker;
	let calls: Call[];
	const events: { name: string; payload: unknown }[] = [];

	const create = (params: Record<string, unknown>) =>
		broker.call<CreatedLink, Record<string, unknown>>("links.create", {
			owner: "user123",
			action: "newsletter.subscribe",
			params: { email: "a@example.com" },
			...params
		});
	const redeem = (token: string) => broker.call<RedeemResult, object>("links.redeem", { token });

	beforeEach(async () => {
		dataDir = tempDataDir();
		calls = [];
		events.length = 0;
		broker = await startNode(
			dataDir,
			calls,
			{},
			{
				name: "listener",
				events: {
					"links.*"(ctx: Context) {
						events.push({ name: ctx.eventName!, payload: ctx.params });
					}
				}
			}
		);
	});

	afterEach(async () => {
		await broker.stop();
		removeDir(dataDir);
	});

	describe("create", () => {
		it("returns the token and its URL once, with the stored action and parameters", async () => {
			const link = await create({ expiry: 3600 });
			expect(link.token).toMatch(/^mta_[0-9A-Za-z]{36}$/);
			expect(link.url).toBe(`http://localhost:3000/token/${link.token}`);
			expect(link).toMatchObject({
				owner: "user123",
				action: "newsletter.subscribe",
				params: { email: "a@example.com" },
				multiUse: false,
				lockTimeout: 10,
				lastAccess: null,
				lockedUntil: null,
				uses: 0
			});
			expect(Date.parse(link.validUntil) - Date.parse(link.createdAt)).toBe(3600_000);
			expect(link).not.toHaveProperty("hash");
		});

		it("takes an ISO validUntil, defaults to 7 days, and a lock timeout of its own", async () => {
			const until = new Date(Date.now() + 86400_000).toISOString();
			expect((await create({ validUntil: until })).validUntil).toBe(until);
			const plain = await create({});
			expect(Date.parse(plain.validUntil) - Date.parse(plain.createdAt)).toBe(7 * 86400_000);
			expect((await create({ multiUse: true, lockTimeout: 0 })).lockTimeout).toBe(0);
		});

		it("refuses an action that is not on the allow-list: 403 naming action", async () => {
			for (const action of ["newsletter.unsubscribe", "links.create", "$node.list"]) {
				const err = await rejection(create({ action }));
				expect(err).toBeInstanceOf(Errors.MoleculerClientError);
				expect(err).toMatchObject({
					code: 403,
					type: "ACTION_NOT_ALLOWED",
					data: { field: "action" }
				});
			}
		});

		it("stores only the HMAC of the token; parameters as given", async () => {
			const link = await create({ params: { email: "visible@example.com", n: 1 } });
			const file = readFileSync(join(dataDir, "links.db"), "utf8");
			expect(file).toContain(link.id);
			expect(file).not.toContain(link.token);
			expect(file).not.toContain(link.token.slice(4, 34));
			expect(file).toContain("visible@example.com");
		});

		it("keeps parameters whose keys the stores would refuse as field names", async () => {
			const params = { $set: { "a.b": 1 }, "x.y": [1, { $in: "z" }] };
			const link = await create({ params });
			expect(link.params).toEqual(params);
			expect(await redeem(link.token)).toEqual({
				action: "newsletter.subscribe",
				result: { subscribed: null }
			});
			expect(calls[0].params).toEqual(params);
		});

		it("emits links.created without the token", async () => {
			const link = await create({});
			await expectEmittedWithout(events, link.token, "links.created", {
				id: link.id,
				owner: "user123",
				action: "newsletter.subscribe"
			});
		});
	});

	describe("load, isValid, invalidate", () => {
		it("load returns the stored action and parameters without spending the link", async () => {
			const link = await create({});
			for (let i = 0; i < 3; i++) {
				const loaded = await broker.call<LinkEntity | null, object>("links.load", {
					token: link.token
				});
				expect(loaded).toEqual({
					id: link.id,
					owner: "user123",
					action: "newsletter.subscribe",
					params: { email: "a@example.com" },
					validUntil: link.validUntil,
					lastAccess: null,
					lockedUntil: null,
					multiUse: false,
					lockTimeout: 10,
					uses: 0,
					createdAt: link.createdAt
				});
			}
			expect(calls).toHaveLength(0);
			// Loading is not an access: it neither locks nor records lastAccess.
			expect((await redeem(link.token)).result).toEqual({ subscribed: "a@example.com" });
		});

		it("answers null / false for unknown, malformed, expired and invalidated links", async () => {
			const link = await create({ expiry: 60 });
			const forged = link.token.slice(0, -8) + "AAAAAAAA";
			for (const token of [forged, "your-token-value", ""]) {
				expect(await broker.call("links.load", { token })).toBeNull();
				expect(await broker.call("links.isValid", { token })).toBe(false);
				expect(await broker.call("links.invalidate", { token })).toBe(false);
			}
			expect(await broker.call("links.isValid", { token: link.token })).toBe(true);
			await later(60_000, async () => {
				expect(await broker.call("links.isValid", { token: link.token })).toBe(false);
				expect(await broker.call("links.load", { token: link.token })).toBeNull();
			});
			expect(await broker.call("links.invalidate", { token: link.token })).toBe(true);
			expect(await broker.call("links.invalidate", { token: link.token })).toBe(false);
			expect(await broker.call("links.isValid", { token: link.token })).toBe(false);
			await expect(redeem(link.token)).rejects.toMatchObject({
				code: 404,
				type: "INVALID_OR_EXPIRED_TOKEN"
			});
		});

		it("a locked multi-use link is still valid", async () => {
			const link = await create({ multiUse: true });
			await redeem(link.token);
			expect(await broker.call("links.isValid", { token: link.token })).toBe(true);
		});
	});

	describe("redeem, one-time", () => {
		it("calls the action with its parameters and meta.link, then is spent", async () => {
			const link = await create({});
			expect(await redeem(link.token)).toEqual({
				action: "newsletter.subscribe",
				result: { subscribed: "a@example.com" }
			});
			expect(calls).toEqual([
				{ params: { email: "a@example.com" }, link: { id: link.id, owner: "user123" } }
			]);
			const err = await rejection(redeem(link.token));
			expect(err).toMatchObject({ code: 404, type: "INVALID_OR_EXPIRED_TOKEN" });
			expect(await broker.call("links.load", { token: link.token })).toBeNull();
			await new Promise(r => setImmediate(r));
			expect(events.filter(e => e.name === "links.redeemed")).toHaveLength(1);
		});

		it("exactly one of 1,000 concurrent redeems wins; the action runs once", async () => {
			const link = await create({});
			const results = await Promise.allSettled(
				Array.from({ length: 1000 }, () => redeem(link.token))
			);
			const won = results.filter(r => r.status === "fulfilled");
			expect(won).toHaveLength(1);
			expect(calls).toHaveLength(1);
			const codes = new Set(
				results
					.filter(r => r.status === "rejected")
					.map(r => (r.reason as Errors.MoleculerError).type)
			);
			expect([...codes]).toEqual(["INVALID_OR_EXPIRED_TOKEN"]);
		});

		it("an expired link is refused and its action never runs", async () => {
			const link = await create({ expiry: 5 });
			await later(5_000, async () => {
				await expect(redeem(link.token)).rejects.toMatchObject({
					code: 404,
					type: "INVALID_OR_EXPIRED_TOKEN"
				});
			});
			expect(calls).toHaveLength(0);
		});

		it("stays spent when the action fails after it was called", async () => {
			const link = await create({ action: "newsletter.fail" });
			const err = await rejection(redeem(link.token));
			expect(err).toMatchObject({ code: 502, type: "UPSTREAM" });
			expect(calls).toHaveLength(1);
			await expect(redeem(link.token)).rejects.toMatchObject({ code: 404 });
			expect(calls).toHaveLength(1);
		});

		it("stays spent when the action rejects the stored parameters (the action ran its checks)", async () => {
			const link = await create({ action: "newsletter.strict", params: { email: "nope" } });
			await expect(redeem(link.token)).rejects.toMatchObject({ code: 422 });
			await expect(redeem(link.token)).rejects.toMatchObject({ code: 404 });
		});

		it("is not spent when nobody serves the action: 503, usable once it is served", async () => {
			const link = await create({ action: "absent.action" });
			const err = await rejection(redeem(link.token));
			expect(err).toMatchObject({ code: 503, type: "ACTION_UNAVAILABLE" });
			expect(await broker.call("links.isValid", { token: link.token })).toBe(true);

			broker.createService({ name: "absent", actions: { action: () => "served" } });
			await broker.waitForServices(["absent"], 5000, 20);
			expect(await redeem(link.token)).toEqual({ action: "absent.action", result: "served" });
		});

		it("is not spent when the allow-list no longer has its action", async () => {
			const link = await create({});
			await broker.stop();
			broker = await startNode(dataDir, calls, { allowedActions: ["newsletter.fail"] });
			const err = await rejection(redeem(link.token));
			expect(err).toMatchObject({ code: 403, type: "ACTION_NOT_ALLOWED" });
			expect(calls).toHaveLength(0);
			await broker.stop();
			broker = await startNode(dataDir, calls);
			expect((await redeem(link.token)).action).toBe("newsletter.subscribe");
		});
	});

	describe("redeem, multi-use with a lock timeout", () => {
		it("locks after each use (423), records lastAccess, and opens again after the lock", async () => {
			const link = await create({ multiUse: true, lockTimeout: 30 });
			const t0 = Date.now();
			await redeem(link.token);
			const err = await rejection(redeem(link.token));
			expect(err).toMatchObject({ code: 423, type: "LOCKED" });
			const data = err.data as { lockedUntil: string; retryAfter: number };
			expect(Date.parse(data.lockedUntil)).toBeGreaterThanOrEqual(t0 + 30_000);
			expect(data.retryAfter).toBeGreaterThan(0);
			expect(data.retryAfter).toBeLessThanOrEqual(30);

			const loaded = await broker.call<LinkEntity, object>("links.load", {
				token: link.token
			});
			expect(Date.parse(loaded.lastAccess!)).toBeGreaterThanOrEqual(t0);
			expect(loaded.lockedUntil).toBe(data.lockedUntil);
			expect(loaded.uses).toBe(1);

			// A refused (423) attempt is not an access: it does not extend the lock.
			await later(29_000, async () => {
				await expect(redeem(link.token)).rejects.toMatchObject({ code: 423 });
			});
			await later(30_001, async () => {
				expect((await redeem(link.token)).result).toEqual({
					subscribed: "a@example.com"
				});
			});
			expect(calls).toHaveLength(2);
		});

		it("exactly one of 1,000 concurrent redeems wins per lock period", async () => {
			const link = await create({ multiUse: true, lockTimeout: 60, expiry: 3600 });
			const round = () =>
				Promise.allSettled(Array.from({ length: 1000 }, () => redeem(link.token)));

			const first = await round();
			expect(first.filter(r => r.status === "fulfilled")).toHaveLength(1);
			const reasons = new Set(
				first
					.filter(r => r.status === "rejected")
					.map(r => (r.reason as Errors.MoleculerError).code)
			);
			expect([...reasons]).toEqual([423]);

			const second = await later(60_000, round);
			expect(second.filter(r => r.status === "fulfilled")).toHaveLength(1);
			expect(calls).toHaveLength(2);
		});

		it("a multi-use link dies at validUntil", async () => {
			const link = await create({ multiUse: true, lockTimeout: 0, expiry: 10 });
			await redeem(link.token);
			await redeem(link.token);
			await later(10_000, async () => {
				await expect(redeem(link.token)).rejects.toMatchObject({ code: 404 });
			});
			expect(calls).toHaveLength(2);
		});

		it("a failing action keeps the lock it took", async () => {
			const link = await create({ action: "newsletter.fail", multiUse: true });
			await expect(redeem(link.token)).rejects.toMatchObject({ code: 502 });
			await expect(redeem(link.token)).rejects.toMatchObject({ code: 423 });
		});
	});

	it("keeps links, their uses and locks across a restart (real files)", async () => {
		const once = await create({});
		const multi = await create({ multiUse: true, lockTimeout: 120 });
		await redeem(multi.token);
		await broker.stop();
		broker = await startNode(dataDir, calls);
		expect(await broker.call("links.isValid", { token: once.token })).toBe(true);
		await expect(redeem(multi.token)).rejects.toMatchObject({ code: 423 });
		expect((await redeem(once.token)).action).toBe("newsletter.subscribe");
		await expect(redeem(once.token)).rejects.toMatchObject({ code: 404 });
	});

	it("removes expired links in batches and keeps live ones", async () => {
		for (let i = 0; i < 12; i++) await create({ expiry: 1 });
		const live = await create({ expiry: 3600 });
		await later(2_000, async () => {
			expect(await broker.call("links.removeExpired", { batchSize: 5 })).toEqual({
				removed: 12
			});
		});
		expect(await broker.call("links.isValid", { token: live.token })).toBe(true);
	});

	describe("bad input", () => {
		const secret = "mta_ThisIsNotARealTokenButLooksLikeOne";
		const future = new Date(Date.now() + 3600_000).toISOString();

		const cases: [string, object, string][] = [
			["links.create", { action: "newsletter.subscribe" }, "owner"],
			["links.create", { owner: "u" }, "action"],
			["links.create", { owner: "u", action: 42 }, "action"],
			["links.create", { owner: "u", action: "newsletter.subscribe", params: [1] }, "params"],
			["links.create", { owner: "u", action: "newsletter.subscribe", params: "x" }, "params"],
			[
				"links.create",
				{ owner: "u", action: "newsletter.subscribe", validUntil: "tomorrow" },
				"validUntil"
			],
			[
				"links.create",
				{ owner: "u", action: "newsletter.subscribe", validUntil: "2001-01-01T00:00:00Z" },
				"validUntil"
			],
			[
				"links.create",
				{ owner: "u", action: "newsletter.subscribe", validUntil: "2030-13-45T99:00:00Z" },
				"validUntil"
			],
			[
				"links.create",
				{ owner: "u", action: "newsletter.subscribe", validUntil: future, expiry: 60 },
				"validUntil"
			],
			["links.create", { owner: "u", action: "newsletter.subscribe", expiry: 0 }, "expiry"],
			[
				"links.create",
				{ owner: "u", action: "newsletter.subscribe", multiUse: "yes" },
				"multiUse"
			],
			[
				"links.create",
				{ owner: "u", action: "newsletter.subscribe", lockTimeout: -1 },
				"lockTimeout"
			],
			[
				"links.create",
				{ owner: "u", action: "newsletter.subscribe", params: { big: "x".repeat(17000) } },
				"params"
			],
			["links.create", { owner: "u", action: "newsletter.subscribe", id: "x" }, "id"],
			["links.load", { token: 123 }, "token"],
			["links.isValid", {}, "token"],
			["links.invalidate", { token: ["x"] }, "token"],
			["links.redeem", { token: { t: 1 } }, "token"],
			["links.redeem", { token: "t", owner: "u" }, "owner"]
		];
		it.each(cases.map(([action, params, field]) => [action, field, params] as const))(
			"%s → 422 naming %s (case %#)",
			async (action, field, params) => {
				await expectInvalidField(broker.call(action, params), field);
			}
		);

		it("never echoes a rejected value", async () => {
			const err = await rejection(
				broker.call("links.redeem", { token: secret, extra: { secret } })
			);
			expect(err.code).toBe(422);
			expect(JSON.stringify(err)).not.toContain(secret);
		});

		it("publishes none of moleculer-db's CRUD actions", () => {
			expectNoCrudActions(broker, "links", ["create"]);
		});

		it("publishes to the gateway only what its pages call", () => {
			const visibility = Object.fromEntries(
				broker.registry
					.getActionList({ skipInternal: true })
					.filter(a => a.name.startsWith("links."))
					.map(a => [a.name, (a.action as { visibility?: string }).visibility])
			);
			expect(visibility).toEqual({
				"links.create": "public",
				"links.load": undefined,
				"links.isValid": "public",
				"links.invalidate": "public",
				"links.redeem": undefined,
				"links.removeExpired": "public"
			});
		});
	});
});

describe("links configuration", () => {
	let dataDir: string;
	beforeEach(() => {
		dataDir = tempDataDir();
	});
	afterEach(() => removeDir(dataDir));

	it("refuses to start with links.* or wildcards on the allow-list", () => {
		for (const allowedActions of [["links.redeem"], ["newsletter.*"], ["$node.list"]]) {
			const broker = createTestBroker();
			expect(() =>
				broker.createService(withSettings(LinksService, { dataDir, allowedActions }))
			).toThrow(/links allowedActions/);
		}
	});

	it("reads the allow-list and PUBLIC_URL from the environment", () => {
		const saved = { ...process.env };
		process.env.LINKS_ALLOWED_ACTIONS = "a.b, c.d";
		process.env.PUBLIC_URL = "https://shop.example.com/";
		jest.isolateModules(() => {
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const fresh = require("../../../services/links.service").default as typeof LinksService;
			expect(fresh.settings!.allowedActions).toEqual(["a.b", "c.d"]);
			expect(fresh.settings!.publicUrl).toBe("https://shop.example.com");
		});
		process.env = saved;
	});
});
