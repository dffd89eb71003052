/**
 * One contract, every store: the same cases run against the embedded NeDB store (always) and against
 * MongoDB whenever MONGO_URI is set (MongoDB cannot be installed on our CI machines, so there the
 * MongoDB half is skipped with a message). Stores are obtained the way the service gets them: from the
 * `tokens` service started by the db mixin on that adapter.
 */
import { randomUUID } from "node:crypto";
import TokensService from "../../../services/tokens/tokens.service";
import type { TokenRecord, TokenStore } from "../../../lib/tokens/store/token-store";
import { startServiceOnStore, storeKinds, type StoreKind } from "../../helpers/stores";

interface StoreUnderTest {
	store: TokenStore;
	stop(): Promise<void>;
}

async function startStore(kind: StoreKind): Promise<StoreUnderTest> {
	const { service, stop } = await startServiceOnStore<{ store: TokenStore }>(
		kind,
		TokensService,
		"tokens"
	);
	return { store: service.store, stop };
}

function record(overrides: Partial<TokenRecord> = {}): TokenRecord {
	return {
		_id: randomUUID(),
		type: "api-key",
		owner: "owner-1",
		hash: randomUUID(),
		name: null,
		scopes: [],
		data: null,
		createdAt: Date.now(),
		expiresAt: null,
		lastUsedAt: null,
		...overrides
	};
}

const kinds = storeKinds("the token store contract");

describe.each(kinds)("TokenStore contract (%s)", kind => {
	let sut: StoreUnderTest;
	let store: TokenStore;
	const NOW = 1_700_000_000_000;

	beforeEach(async () => {
		sut = await startStore(kind);
		store = sut.store;
	});
	afterEach(() => sut.stop());

	it("finds a token by any of its candidate hashes and returns a full record", async () => {
		const r = record({ scopes: ["a"], name: "k", data: { x: 1 } });
		await store.insert(r);
		expect(await store.findByHashes([r.hash])).toEqual(r);
		expect(await store.findByHashes(["other", r.hash])).toEqual(r);
		expect(await store.findByHashes(["missing"])).toBeNull();
	});

	it("refuses a second token with the same hash", async () => {
		const r = record();
		await store.insert(r);
		await expect(store.insert(record({ hash: r.hash }))).rejects.toThrow();
	});

	it("fails only the insert the store refuses, not the others written in its batch", async () => {
		// A "$" key (NeDB, MongoDB) and U+0000 in jsonb (PostgreSQL): refused by every store.
		const bad = record({ data: { $bad: 1, text: "\u0000" } });
		const good = Array.from({ length: 6 }, () => record());
		const results = await Promise.allSettled(
			[good[0], good[1], good[2], bad, good[3], good[4], good[5]].map(r => store.insert(r))
		);
		expect(results.map(r => r.status)).toEqual([
			"fulfilled",
			"fulfilled",
			"fulfilled",
			"rejected",
			"fulfilled",
			"fulfilled",
			"fulfilled"
		]);
		for (const r of good) expect(await store.findByHashes([r.hash])).toEqual(r);
		expect(await store.findByHashes([bad.hash])).toBeNull();
	});

	it("returns copies: changing a found record does not change the store", async () => {
		const r = record({ scopes: ["read"] });
		await store.insert(r);
		const found = (await store.findByHashes([r.hash]))!;
		found.scopes.push("admin");
		found.owner = "mallory";
		expect(await store.findByHashes([r.hash])).toEqual(r);
	});

	it("consumes a live token exactly once among 200 concurrent calls", async () => {
		const r = record({ type: "verification", expiresAt: NOW + 60_000 });
		await store.insert(r);
		const match = { hashes: [r.hash], type: "verification" };
		const results = await Promise.all(
			Array.from({ length: 200 }, () => store.consume(match, NOW))
		);
		expect(results.filter(x => x !== null)).toEqual([r]);
		expect(await store.findByHashes([r.hash])).toBeNull();
	});

	it("does not consume a token of another type or owner, or an expired one", async () => {
		const r = record({ type: "verification", owner: "o", expiresAt: NOW + 1000 });
		await store.insert(r);
		expect(await store.consume({ hashes: [r.hash], type: "passwordless" }, NOW)).toBeNull();
		expect(
			await store.consume({ hashes: [r.hash], type: "verification", owner: "x" }, NOW)
		).toBeNull();
		expect(
			await store.consume({ hashes: [r.hash], type: "verification" }, NOW + 1000)
		).toBeNull();
		expect(await store.findByHashes([r.hash])).toEqual(r);
	});

	it("removes a token whether or not it expired, only with its type", async () => {
		const r = record({ type: "verification", expiresAt: NOW - 1 });
		await store.insert(r);
		expect(await store.remove({ hashes: [r.hash], type: "api-key" })).toBeNull();
		expect(await store.remove({ hashes: [r.hash], type: "verification" })).toEqual(r);
		expect(await store.remove({ hashes: [r.hash], type: "verification" })).toBeNull();
	});

	it("removes by id only for the owner", async () => {
		const r = record({ owner: "erin" });
		await store.insert(r);
		expect(await store.removeById(r._id, "mallory")).toBeNull();
		expect(await store.removeById(r._id, "erin")).toEqual(r);
		expect(await store.removeById(r._id, "erin")).toBeNull();
	});

	it("updates data and expiry by id, only for the owner, and finds the token as updated", async () => {
		const r = record({ owner: "erin", data: { metadata: { plan: "free" } } });
		await store.insert(r);
		expect(await store.update(r._id, "mallory", { data: { disabled: true } })).toBeNull();
		const disabled = await store.update(r._id, "erin", {
			data: { metadata: { plan: "free" }, disabled: true }
		});
		expect(disabled).toEqual({ ...r, data: { metadata: { plan: "free" }, disabled: true } });
		const ending = await store.update(r._id, "erin", { expiresAt: NOW + 60_000 });
		expect(ending).toMatchObject({ expiresAt: NOW + 60_000, data: { disabled: true } });
		expect(await store.findByHashes([r.hash])).toEqual(ending);
		expect(await store.update("no-such-id", "erin", { expiresAt: NOW })).toBeNull();
	});

	it("lists and removes an owner's tokens, oldest first, optionally by type", async () => {
		const a = record({ owner: "carol", createdAt: NOW + 2 });
		const b = record({ owner: "carol", createdAt: NOW + 1 });
		const c = record({ owner: "carol", type: "refresh", createdAt: NOW });
		await Promise.all([a, b, c, record({ owner: "dave" })].map(r => store.insert(r)));
		expect(await store.listByOwner("carol", "api-key")).toEqual([b, a]);
		expect(await store.listByOwner("carol")).toEqual([c, b, a]);
		expect((await store.removeByOwner("carol", "refresh")).map(r => r._id)).toEqual([c._id]);
		expect((await store.removeByOwner("carol")).map(r => r._id).sort()).toEqual(
			[a._id, b._id].sort()
		);
		expect(await store.listByOwner("carol")).toEqual([]);
		expect(await store.listByOwner("dave")).toHaveLength(1);
	});

	it("removes expired tokens in limited batches and keeps live and never-expiring ones", async () => {
		const expired = Array.from({ length: 250 }, (_, i) => record({ expiresAt: NOW - i }));
		const live = record({ expiresAt: NOW + 1 });
		const forever = record({ expiresAt: null });
		await Promise.all([...expired, live, forever].map(r => store.insert(r)));
		expect(await store.removeExpired(NOW, 100)).toHaveLength(100);
		expect(await store.removeExpired(NOW, 100)).toHaveLength(100);
		expect(await store.removeExpired(NOW, 100)).toHaveLength(50);
		expect(await store.removeExpired(NOW, 100)).toEqual([]);
		expect(await store.findByHashes([live.hash])).toEqual(live);
		expect(await store.findByHashes([forever.hash])).toEqual(forever);
	});

	it("counts live and expired tokens by type", async () => {
		await Promise.all(
			[
				record({ type: "api-key" }),
				record({ type: "api-key", expiresAt: NOW - 5 }),
				record({ type: "verification", expiresAt: NOW + 5 })
			].map(r => store.insert(r))
		);
		expect(await store.countByType(NOW)).toEqual({
			"api-key": { live: 1, expired: 1 },
			verification: { live: 1, expired: 0 }
		});
	});

	it("records use only where the last recorded use is stale", async () => {
		const fresh = record({ lastUsedAt: NOW - 10 });
		const stale = record({ lastUsedAt: NOW - 120_000 });
		const never = record();
		await Promise.all([fresh, stale, never].map(r => store.insert(r)));
		await store.touch([fresh._id, stale._id, never._id], NOW, NOW - 60_000);
		expect((await store.findByHashes([fresh.hash]))!.lastUsedAt).toBe(NOW - 10);
		expect((await store.findByHashes([stale.hash]))!.lastUsedAt).toBe(NOW);
		expect((await store.findByHashes([never.hash]))!.lastUsedAt).toBe(NOW);
	});

	it("touches and removes hundreds of tokens in one call", async () => {
		const many = Array.from({ length: 450 }, () => record({ expiresAt: NOW - 1 }));
		await Promise.all(many.map(r => store.insert(r)));
		await store.touch(
			many.map(r => r._id),
			NOW,
			NOW - 60_000
		);
		expect((await store.findByHashes([many[449].hash]))!.lastUsedAt).toBe(NOW);
		expect(await store.removeExpired(NOW, 1000)).toHaveLength(450);
	});
});
