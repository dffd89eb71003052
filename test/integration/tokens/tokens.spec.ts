/**
 * The `tokens` service on a real broker, with the embedded store writing real files.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Context, ServiceBroker } from "moleculer";
import TokensService from "../../../services/tokens/tokens.service";
import { type TokenEntity } from "../../../lib/tokens/token-types";
import {
	createTestBroker,
	dataDirPerTest,
	removeDir,
	startService,
	tempDataDir,
	withSettings,
	expectNoCrudActions
} from "../../helpers/broker";
import { tokenCalls } from "../../helpers/tokens";
import { expectEmittedWithout, rejection, expectInvalidField, later } from "../../helpers/async";

type Generated = TokenEntity & { token: string };

async function startTokens(dataDir: string, settings: Record<string, unknown> = {}) {
	return startService(TokensService, { dataDir, ...settings });
}

function dataFiles(dir: string): string {
	return readdirSync(dir)
		.map(f => readFileSync(join(dir, f), "utf8"))
		.join("\n");
}

describe("tokens service", () => {
	let dataDir: string;
	let broker: ServiceBroker;
	const events: { name: string; payload: unknown }[] = [];

	beforeEach(async () => {
		dataDir = tempDataDir();
		events.length = 0;
		broker = createTestBroker();
		broker.createService(withSettings(TokensService, { dataDir }));
		broker.createService({
			name: "listener",
			events: {
				"tokens.*"(ctx: Context) {
					events.push({ name: ctx.eventName!, payload: ctx.params });
				}
			}
		});
		await broker.start();
	});

	afterEach(async () => {
		await broker.stop();
		removeDir(dataDir);
	});

	describe("seed 000's examples, unchanged", () => {
		it("generate, check with isUsed, remove", async () => {
			const generated = await broker.call<Generated, object>("tokens.generate", {
				type: "verification",
				expiry: 3600,
				owner: "user123"
			});
			expect(generated.token).toMatch(/^mtv_/);
			expect(generated).toMatchObject({
				type: "verification",
				owner: "user123",
				lastUsedAt: null
			});
			const lifetime = Date.parse(generated.expiresAt!) - Date.parse(generated.createdAt);
			expect(lifetime).toBe(3600 * 1000);

			const checked = await broker.call<TokenEntity | null, object>("tokens.check", {
				type: "verification",
				token: generated.token,
				owner: "user123",
				isUsed: true
			});
			expect(checked).toMatchObject({ id: generated.id, owner: "user123" });
			expect(checked!.lastUsedAt).not.toBeNull();

			const tokens = tokenCalls(() => broker);
			const removed = await tokens.remove("verification", generated.token);
			expect(removed).toMatchObject({ id: generated.id });
			expect(await tokens.check("verification", generated.token)).toBeNull();
		});

		it("the placeholder token of the examples is simply not found", async () => {
			const params = { type: "verification", token: "your-token-value" };
			expect(
				await broker.call("tokens.check", { ...params, owner: "user123", isUsed: true })
			).toBeNull();
			expect(await broker.call("tokens.remove", params)).toBeNull();
		});
	});

	describe("generate", () => {
		it("returns the plaintext once and never exposes the hash", async () => {
			const generated = await broker.call<Generated, object>("tokens.generate", {
				type: "api-key",
				owner: "u1",
				name: "CI key",
				scopes: ["read", "write"]
			});
			expect(Object.keys(generated).sort()).toEqual(
				[
					"createdAt",
					"data",
					"expiresAt",
					"id",
					"lastUsedAt",
					"name",
					"owner",
					"scopes",
					"token",
					"type"
				].sort()
			);
			expect(generated.expiresAt).toBeNull();
			const checked = await broker.call<TokenEntity, object>("tokens.check", {
				type: "api-key",
				token: generated.token
			});
			expect(checked).not.toHaveProperty("token");
			expect(checked).not.toHaveProperty("hash");
			expect(checked).toMatchObject({ name: "CI key", scopes: ["read", "write"] });
		});

		it.each([
			["verification", 86400],
			["passwordless", 900],
			["password-reset", 3600]
		])("gives %s tokens a default lifetime of %i s", async (type, seconds) => {
			const g = await broker.call<Generated, object>("tokens.generate", { type, owner: "u" });
			expect(Date.parse(g.expiresAt!) - Date.parse(g.createdAt)).toBe(seconds * 1000);
		});

		it("stores only the HMAC: neither the token nor the salt reaches the data files", async () => {
			const g = await broker.call<Generated, object>("tokens.generate", {
				type: "api-key",
				owner: "u"
			});
			const salt = readFileSync(join(dataDir, "token-salt"), "utf8").trim();
			const tokensFile = readFileSync(join(dataDir, "tokens.db"), "utf8");
			expect(tokensFile).toContain(g.id);
			expect(tokensFile).not.toContain(g.token);
			expect(tokensFile).not.toContain(g.token.slice(4, 34));
			expect(tokensFile).not.toContain(salt);
		});

		it("emits tokens.created with id and owner, never the token", async () => {
			const g = await tokenCalls(() => broker).generate("passwordless", "u9");
			await expectEmittedWithout(events, g.token, "tokens.created", {
				id: g.id,
				type: "passwordless",
				owner: "u9"
			});
		});
	});

	describe("check", () => {
		let g: Generated;
		beforeEach(async () => {
			g = await broker.call<Generated, object>("tokens.generate", {
				type: "password-reset",
				owner: "alice"
			});
		});

		it("answers the same null for a wrong type, a wrong owner and an unknown token", async () => {
			const results = await Promise.all([
				broker.call("tokens.check", { type: "verification", token: g.token }),
				broker.call("tokens.check", {
					type: "password-reset",
					token: g.token,
					owner: "bob"
				}),
				broker.call("tokens.check", {
					type: "password-reset",
					token: g.token.slice(0, -8) + "AAAAAAAA"
				})
			]);
			expect(results).toEqual([null, null, null]);
			expect(
				await broker.call("tokens.check", {
					type: "password-reset",
					token: g.token,
					owner: "alice"
				})
			).toMatchObject({ id: g.id });
		});

		it("treats an expired token as absent", async () => {
			const short = await broker.call<Generated, object>("tokens.generate", {
				type: "verification",
				owner: "alice",
				expiry: 1
			});
			await later(1001, async () => {
				expect(
					await broker.call("tokens.check", { type: "verification", token: short.token })
				).toBeNull();
			});
		});

		it("records last use at most once per touch interval, in one buffered write", async () => {
			const call = () =>
				broker.call<TokenEntity, object>("tokens.check", {
					type: "password-reset",
					token: g.token,
					isUsed: true
				});
			const first = await call();
			expect(first.lastUsedAt).not.toBeNull();
			const second = await call();
			expect(second.lastUsedAt).toBe(first.lastUsedAt);

			// Stopping flushes the buffer; the store then holds that one "last used" write.
			await broker.stop();
			const lines = readFileSync(join(dataDir, "tokens.db"), "utf8")
				.split("\n")
				.filter(line => line.includes(g.id));
			expect(lines).toHaveLength(2); // the insert and one "last used" write
			broker = await startTokens(dataDir);
			const stored = await broker.call<TokenEntity, object>("tokens.check", {
				type: "password-reset",
				token: g.token
			});
			expect(stored.lastUsedAt).not.toBeNull();
			expect(
				Math.abs(Date.parse(stored.lastUsedAt!) - Date.parse(first.lastUsedAt!))
			).toBeLessThan(2000);

			await later(61_000, async () => {
				const touchedAgain = await call();
				expect(Date.parse(touchedAgain.lastUsedAt!)).toBeGreaterThan(
					Date.parse(first.lastUsedAt!)
				);
			});
		});

		it("without isUsed writes nothing", async () => {
			await broker.call("tokens.check", { type: "password-reset", token: g.token });
			const lines = readFileSync(join(dataDir, "tokens.db"), "utf8")
				.split("\n")
				.filter(line => line.includes(g.id));
			expect(lines).toHaveLength(1);
		});
	});

	describe("consume", () => {
		it("spends a token exactly once among 1,000 concurrent calls", async () => {
			const g = await broker.call<Generated, object>("tokens.generate", {
				type: "verification",
				owner: "u"
			});
			const results = await Promise.all(
				Array.from({ length: 1000 }, () =>
					broker.call<TokenEntity | null, object>("tokens.consume", {
						type: "verification",
						token: g.token
					})
				)
			);
			expect(results.filter(r => r !== null)).toHaveLength(1);
			expect(results.find(r => r !== null)).toMatchObject({ id: g.id });
			expect(
				await broker.call("tokens.check", { type: "verification", token: g.token })
			).toBeNull();
			await new Promise(r => setImmediate(r));
			expect(events.filter(e => e.name === "tokens.consumed")).toHaveLength(1);
		});

		it("does not spend a token of another owner or type, or an expired one", async () => {
			const g = await broker.call<Generated, object>("tokens.generate", {
				type: "verification",
				owner: "u",
				expiry: 1
			});
			expect(
				await broker.call("tokens.consume", {
					type: "verification",
					token: g.token,
					owner: "x"
				})
			).toBeNull();
			expect(
				await broker.call("tokens.consume", { type: "passwordless", token: g.token })
			).toBeNull();
			await later(2000, async () => {
				expect(
					await broker.call("tokens.consume", { type: "verification", token: g.token })
				).toBeNull();
			});
			expect(
				await broker.call("tokens.check", { type: "verification", token: g.token })
			).not.toBeNull();
		});
	});

	describe("owners", () => {
		it("lists an owner's tokens without secrets, and removes them by type or all", async () => {
			const a = await broker.call<Generated, object>("tokens.generate", {
				type: "api-key",
				owner: "carol",
				name: "one"
			});
			await broker.call("tokens.generate", { type: "api-key", owner: "carol", name: "two" });
			await broker.call("tokens.generate", { type: "refresh", owner: "carol" });
			await broker.call("tokens.generate", { type: "api-key", owner: "dave" });

			const keys = await broker.call<TokenEntity[], object>("tokens.listByOwner", {
				owner: "carol",
				type: "api-key"
			});
			expect(keys.map(k => k.name)).toEqual(["one", "two"]);
			expect(JSON.stringify(keys)).not.toContain(a.token);
			expect(keys[0]).not.toHaveProperty("hash");

			expect(
				await broker.call("tokens.removeByOwner", { owner: "carol", type: "api-key" })
			).toEqual({ removed: 2 });
			expect(
				await broker.call<TokenEntity[], object>("tokens.listByOwner", { owner: "carol" })
			).toHaveLength(1);
			expect(await broker.call("tokens.removeByOwner", { owner: "carol" })).toEqual({
				removed: 1
			});
			expect(
				await broker.call<TokenEntity[], object>("tokens.listByOwner", { owner: "dave" })
			).toHaveLength(1);
		});

		it("revokes one token by id only for its owner", async () => {
			const g = await broker.call<Generated, object>("tokens.generate", {
				type: "api-key",
				owner: "erin"
			});
			expect(await broker.call("tokens.revoke", { id: g.id, owner: "mallory" })).toBeNull();
			expect(await broker.call("tokens.revoke", { id: g.id, owner: "erin" })).toMatchObject({
				id: g.id
			});
			expect(
				await broker.call("tokens.check", { type: "api-key", token: g.token })
			).toBeNull();
		});
	});

	describe("cleanup", () => {
		it("removes expired tokens in batches and keeps live ones", async () => {
			for (let i = 0; i < 25; i++) {
				await broker.call("tokens.generate", {
					type: "verification",
					owner: `o${i}`,
					expiry: 1
				});
			}
			const live = await broker.call<Generated, object>("tokens.generate", {
				type: "api-key",
				owner: "keep"
			});
			await later(5000, async () => {
				expect(await broker.call("tokens.removeExpired", { batchSize: 10 })).toEqual({
					removed: 25
				});
			});
			expect(
				await broker.call("tokens.check", { type: "api-key", token: live.token })
			).not.toBeNull();
			await new Promise(r => setImmediate(r));
			const cleared = events.filter(e => e.name === "tokens.expiredCleared");
			expect(cleared.map(e => (e.payload as { count: number }).count)).toEqual([10, 10, 5]);
		});

		it("is scheduled at midnight every day, not every hour", () => {
			const service = broker.getLocalService("tokens") as unknown as {
				getJob(name: string): { nextDate(): { toJSDate(): Date } } | undefined;
			};
			const next = service.getJob("removeExpired")!.nextDate().toJSDate();
			expect(next.getUTCHours()).toBe(0);
			expect(next.getUTCMinutes()).toBe(0);
			expect(next.getTime() - Date.now()).toBeLessThanOrEqual(86400 * 1000);
		});

		it("reports counts by type", async () => {
			await broker.call("tokens.generate", { type: "api-key", owner: "s" });
			await broker.call("tokens.generate", { type: "verification", owner: "s", expiry: 1 });
			await later(2000, async () => {
				expect(await broker.call("tokens.stats")).toEqual({
					"api-key": { live: 1, expired: 0 },
					verification: { live: 0, expired: 1 }
				});
			});
		});
	});

	describe("bad input", () => {
		const secret = "mtk_ThisIsNotARealTokenButLooksLikeOne";

		it.each([
			["tokens.generate", { type: "verification" }, "owner"],
			["tokens.generate", { type: "nope", owner: "u" }, "type"],
			["tokens.generate", { type: "verification", owner: "u", expiry: -5 }, "expiry"],
			["tokens.generate", { type: "verification", owner: "u", expiry: 1.5 }, "expiry"],
			["tokens.generate", { type: "verification", owner: 42 }, "owner"],
			["tokens.generate", { type: "verification", owner: "u", id: "x" }, "id"],
			["tokens.check", { type: "verification", token: 12345 }, "token"],
			["tokens.check", { type: "verification" }, "token"],
			["tokens.check", { type: "verification", token: "t", isUsed: "yes" }, "isUsed"],
			["tokens.remove", { type: "verification", token: "t", id: "abc" }, "id"],
			["tokens.remove", { token: "t" }, "type"],
			["tokens.consume", { type: "api-key", token: ["x"] }, "token"],
			["tokens.listByOwner", {}, "owner"],
			["tokens.revoke", { id: "x" }, "owner"]
		])("%s %j → 422 naming %s", async (action, params, field) => {
			await expectInvalidField(broker.call(action, params), field);
		});

		it("never echoes a rejected value", async () => {
			const err = await rejection(
				broker.call("tokens.check", {
					type: "verification",
					token: secret,
					owner: { secret }
				})
			);
			expect(err.code).toBe(422);
			expect(JSON.stringify(err)).not.toContain(secret);
			expect(JSON.stringify(err.data)).not.toContain(secret);
		});

		it("publishes none of moleculer-db's CRUD actions", () => {
			expectNoCrudActions(broker, "tokens", ["remove"]);
		});
	});

	it("keeps tokens across a restart (real files)", async () => {
		const g = await broker.call<Generated, object>("tokens.generate", {
			type: "api-key",
			owner: "p"
		});
		await broker.stop();
		broker = await startTokens(dataDir);
		expect(
			await broker.call("tokens.check", { type: "api-key", token: g.token })
		).toMatchObject({
			id: g.id
		});
		expect(dataFiles(dataDir)).not.toContain(g.token);
	});
});

describe("salt rotation", () => {
	const dataDir = dataDirPerTest();

	it("keeps tokens hashed with a previous salt working; new tokens use the new salt", async () => {
		process.env.TOKEN_SALT = "first-salt-".padEnd(40, "x");
		let broker = await startTokens(dataDir());
		const tokens = tokenCalls(() => broker);
		const old = await tokens.generate("api-key", "r");
		await broker.stop();

		process.env.TOKEN_SALT = "second-salt-".padEnd(40, "y");
		process.env.TOKEN_SALT_PREVIOUS = "first-salt-".padEnd(40, "x");
		broker = await startTokens(dataDir());
		const fresh = await tokens.generate("api-key", "r");
		expect(await tokens.check("api-key", old.token)).toMatchObject({ id: old.id });
		expect(await tokens.check("api-key", fresh.token)).toMatchObject({ id: fresh.id });
		expect(await tokens.consume("api-key", old.token)).toMatchObject({ id: old.id });
		await broker.stop();

		delete process.env.TOKEN_SALT_PREVIOUS;
		broker = await startTokens(dataDir());
		expect(await tokens.check("api-key", fresh.token)).not.toBeNull();
		await broker.stop();
	});

	it("refuses to start in production without TOKEN_SALT", async () => {
		process.env.NODE_ENV = "production";
		delete process.env.TOKEN_SALT;
		const broker = createTestBroker();
		expect(() =>
			broker.createService(withSettings(TokensService, { dataDir: dataDir() }))
		).toThrow(/TOKEN_SALT is required when NODE_ENV=production/);
	});
});

describe("failed lookups are limited", () => {
	let dataDir: string;
	let broker: ServiceBroker;
	const realNow = Date.now;

	beforeEach(async () => {
		dataDir = tempDataDir();
		broker = await startTokens(dataDir, {
			failureLimit: {
				perClient: { burst: 3, perSecond: 0.5 },
				perNode: { burst: 5, perSecond: 1 }
			}
		});
	});
	afterEach(async () => {
		Date.now = realNow;
		await broker.stop();
		removeDir(dataDir);
	});

	// A new object per call: the validator fills in defaults (isUsed) on the params it is given.
	const wrong = () => ({ type: "api-key", token: "mtk_not-a-real-token-at-all-0000000000" });

	it("per end client: after the burst, failures answer 429 for that client only; a valid token still answers", async () => {
		const g = await broker.call<Generated, object>("tokens.generate", {
			type: "api-key",
			owner: "o"
		});
		const asClient = (ip: string, params: object) =>
			broker.call("tokens.check", params, { meta: { ip } });
		for (let i = 0; i < 3; i++) expect(await asClient("10.0.0.1", wrong())).toBeNull();
		// Someone at the same address guessed wrong: the holder of a real key is not refused.
		expect(await asClient("10.0.0.1", { type: "api-key", token: g.token })).toMatchObject({
			id: g.id
		});
		const err = await rejection(asClient("10.0.0.1", wrong()));
		expect(err).toMatchObject({
			code: 429,
			type: "TOO_MANY_FAILURES",
			data: { retryAfter: 2 }
		});
		await expect(
			broker.call("tokens.consume", wrong(), { meta: { ip: "10.0.0.1" } })
		).rejects.toMatchObject({ code: 429 });
		expect(await asClient("10.0.0.2", { type: "api-key", token: g.token })).toMatchObject({
			id: g.id
		});
		const start = realNow();
		Date.now = () => start + 2000;
		expect(await asClient("10.0.0.1", { type: "api-key", token: g.token })).toMatchObject({
			id: g.id
		});
	});

	it("per calling node when no client is named, with its own budget", async () => {
		for (let i = 0; i < 5; i++) expect(await broker.call("tokens.check", wrong())).toBeNull();
		await expect(broker.call("tokens.check", wrong())).rejects.toMatchObject({ code: 429 });
		// A caller naming its client is counted separately.
		expect(await broker.call("tokens.check", wrong(), { meta: { ip: "10.0.0.9" } })).toBeNull();
	});

	it("successful lookups cost nothing", async () => {
		const g = await broker.call<Generated, object>("tokens.generate", {
			type: "api-key",
			owner: "o"
		});
		for (let i = 0; i < 50; i++) {
			expect(
				await broker.call(
					"tokens.check",
					{ type: "api-key", token: g.token },
					{ meta: { ip: "10.0.0.3" } }
				)
			).not.toBeNull();
		}
	});
});
