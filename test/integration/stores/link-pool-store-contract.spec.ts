/**
 * One contract, every store, for the `links` and `pools` stores: the same cases run against the
 * embedded NeDB store (always) and against MongoDB whenever MONGO_URI is set (MongoDB cannot be
 * installed on our CI machines, so there the MongoDB half is skipped with a message). Stores are
 * obtained the way the services get them: from the service started by the db mixin on that adapter.
 */
import { randomUUID } from "node:crypto";
import type { ServiceSchema } from "moleculer";
import LinksService from "../../../services/links.service";
import PoolsService from "../../../services/pools.service";
import type { LinkRecord, LinkStore } from "../../../lib/links/store/link-store";
import {
	configId,
	slotKeyOf,
	type PoolStore,
	type PoolTokenRecord
} from "../../../lib/pools/store/pool-store";
import { withSettings } from "../../helpers/broker";
import { startServiceOnStore, storeKinds, type StoreKind } from "../../helpers/stores";

interface StoreUnderTest<T> {
	store: T;
	stop(): Promise<void>;
}

async function startStore<T>(
	kind: StoreKind,
	schema: ServiceSchema,
	name: string
): Promise<StoreUnderTest<T>> {
	const { service, stop } = await startServiceOnStore<{ store: T }>(kind, schema, name);
	return { store: service.store, stop };
}

const NOW = 1_700_000_000_000;

function link(overrides: Partial<LinkRecord> = {}): LinkRecord {
	return {
		_id: randomUUID(),
		hash: randomUUID(),
		owner: "owner-1",
		action: "newsletter.subscribe",
		params: '{"email":"a@example.com"}',
		multiUse: false,
		lockTimeout: 10,
		createdAt: NOW,
		validUntil: NOW + 3600_000,
		lastAccess: null,
		lockedUntil: null,
		uses: 0,
		...overrides
	};
}

function poolToken(pool: string, slot: number, overrides: Partial<PoolTokenRecord> = {}) {
	const record: PoolTokenRecord = {
		_id: randomUUID(),
		kind: "token",
		pool,
		slot,
		slotKey: slotKeyOf(pool, slot),
		hash: randomUUID(),
		sealed: "v1.sealed",
		createdAt: NOW,
		expiresAt: null,
		holder: null,
		leaseExpiresAt: null,
		assignedAt: null,
		...overrides
	};
	return record;
}

/** A lease's terms, as assign and keepAlive take them. */
function lease<H extends string | undefined>(holder: H, now: number, leaseExpiresAt: number) {
	return { holder, now, leaseExpiresAt };
}

const kinds = storeKinds("the link and pool store contracts");

describe.each(kinds)("LinkStore contract (%s)", kind => {
	let sut: StoreUnderTest<LinkStore>;
	let store: LinkStore;

	beforeEach(async () => {
		sut = await startStore<LinkStore>(
			kind,
			withSettings(LinksService, { allowedActions: [] }) as unknown as ServiceSchema,
			"links"
		);
		store = sut.store;
	});
	afterEach(() => sut.stop());

	it("finds a link by any candidate hash, expired or not", async () => {
		const r = link({ validUntil: NOW - 1 });
		await store.insert(r);
		expect(await store.findByHashes([r.hash])).toEqual(r);
		expect(await store.findByHashes(["other", r.hash])).toEqual(r);
		expect(await store.findByHashes(["nope"])).toBeNull();
	});

	it("refuses a second link with the same hash", async () => {
		const r = link();
		await store.insert(r);
		await expect(store.insert(link({ hash: r.hash }))).rejects.toThrow();
	});

	it("spends a live, unlocked link exactly once among concurrent calls", async () => {
		const r = link();
		await store.insert(r);
		const results = await Promise.all(
			Array.from({ length: 200 }, () => store.spend(r._id, NOW))
		);
		expect(results.filter(Boolean)).toHaveLength(1);
		expect(await store.findByHashes([r.hash])).toBeNull();
	});

	it("does not spend an expired or locked link", async () => {
		const expired = link({ validUntil: NOW });
		const locked = link({ lockedUntil: NOW + 1 });
		await store.insert(expired);
		await store.insert(locked);
		expect(await store.spend(expired._id, NOW)).toBe(false);
		expect(await store.spend(locked._id, NOW)).toBe(false);
		expect(await store.spend(locked._id, NOW + 1)).toBe(true);
	});

	it("claims a multi-use link once per lock period, recording the access", async () => {
		const r = link({ multiUse: true });
		await store.insert(r);
		const results = await Promise.all(
			Array.from({ length: 200 }, () => store.claim(r._id, NOW, NOW + 10_000))
		);
		const won = results.filter(x => x !== null);
		expect(won).toHaveLength(1);
		expect(won[0]).toMatchObject({ lastAccess: NOW, lockedUntil: NOW + 10_000, uses: 1 });
		expect(await store.claim(r._id, NOW + 9_999, NOW + 20_000)).toBeNull();
		expect(await store.claim(r._id, NOW + 10_000, NOW + 20_000)).toMatchObject({ uses: 2 });
		expect(await store.claim(r._id, NOW + 3600_000, NOW + 3610_000)).toBeNull();
	});

	it("removes by hash, and removes expired links up to a limit", async () => {
		const keep = link();
		const dead = Array.from({ length: 5 }, () => link({ validUntil: NOW - 1 }));
		for (const r of [keep, ...dead]) await store.insert(r);
		expect(await store.removeExpired(NOW, 3)).toBe(3);
		expect(await store.removeExpired(NOW, 3)).toBe(2);
		expect(await store.removeExpired(NOW, 3)).toBe(0);
		expect(await store.removeByHashes([keep.hash])).toEqual(keep);
		expect(await store.removeByHashes([keep.hash])).toBeNull();
	});

	it("removes every link of one owner, and only those", async () => {
		const mine = [link({ owner: "gone" }), link({ owner: "gone", validUntil: NOW - 1 })];
		const theirs = link({ owner: "stays" });
		for (const r of [...mine, theirs]) await store.insert(r);
		expect(await store.removeByOwner("gone")).toBe(2);
		expect(await store.removeByOwner("gone")).toBe(0);
		expect(await store.findByHashes([mine[0].hash])).toBeNull();
		expect(await store.findByHashes([theirs.hash])).toEqual(theirs);
	});
});

describe.each(kinds)("PoolStore contract (%s)", kind => {
	let sut: StoreUnderTest<PoolStore>;
	let store: PoolStore;

	beforeEach(async () => {
		sut = await startStore<PoolStore>(kind, PoolsService as unknown as ServiceSchema, "pools");
		store = sut.store;
	});
	afterEach(() => sut.stop());

	it("saves and replaces a pool's settings", async () => {
		expect(await store.getConfig("p")).toBeNull();
		const config = {
			_id: configId("p"),
			kind: "config" as const,
			pool: "p",
			size: 5,
			leaseTime: 60,
			tokenTtl: null,
			updatedAt: NOW
		};
		await store.saveConfig(config);
		await store.saveConfig({ ...config, size: 7, tokenTtl: 30 });
		expect(await store.getConfig("p")).toEqual({ ...config, size: 7, tokenTtl: 30 });
	});

	it("never lets two tokens take one slot of a pool; other pools have their own slots", async () => {
		expect(await store.insertToken(poolToken("p", 0))).toBe(true);
		expect(await store.insertToken(poolToken("p", 0))).toBe(false);
		expect(await store.insertToken(poolToken("q", 0))).toBe(true);
		expect((await store.usedSlots("p")).sort()).toEqual([0]);
		const results = await Promise.all(
			Array.from({ length: 50 }, () => store.insertToken(poolToken("p", 1)))
		);
		expect(results.filter(Boolean)).toHaveLength(1);
	});

	it("assigns each available token to one client only, least recently assigned first", async () => {
		for (let slot = 0; slot < 5; slot++) {
			await store.insertToken(poolToken("p", slot, { assignedAt: NOW - 1000 + slot }));
		}
		await store.insertToken(poolToken("p", 5, { expiresAt: NOW }));
		const results = await Promise.all(
			Array.from({ length: 100 }, (_, i) =>
				store.assign("p", lease(`c${i}`, NOW, NOW + 60_000))
			)
		);
		const won = results.filter((r): r is PoolTokenRecord => r !== null);
		expect(won).toHaveLength(5);
		expect(new Set(won.map(r => r._id)).size).toBe(5);
		for (const r of won) {
			expect(r).toMatchObject({ leaseExpiresAt: NOW + 60_000, assignedAt: NOW });
		}
		expect(await store.counts("p", NOW)).toEqual({ tokens: 5, available: 0, assigned: 5 });

		// Once the leases run out, the tokens are free again, without anyone releasing them.
		expect(await store.counts("p", NOW + 60_000)).toEqual({
			tokens: 5,
			available: 5,
			assigned: 0
		});
		const again = await store.assign("p", lease("late", NOW + 60_000, NOW + 120_000));
		expect(again).toMatchObject({ holder: "late" });
	});

	it("hands out the token assigned longest ago", async () => {
		const older = poolToken("p", 0, { assignedAt: NOW - 5000 });
		const newer = poolToken("p", 1, { assignedAt: NOW - 1000 });
		const never = poolToken("p", 2);
		for (const r of [newer, older, never]) await store.insertToken(r);
		expect((await store.assign("p", lease("a", NOW, NOW + 1)))!._id).toBe(never._id);
		expect((await store.assign("p", lease("b", NOW, NOW + 1)))!._id).toBe(older._id);
		expect((await store.assign("p", lease("c", NOW, NOW + 1)))!._id).toBe(newer._id);
	});

	it("renews a lease for its holder only, while it runs", async () => {
		const r = poolToken("p", 0, { holder: "a", leaseExpiresAt: NOW + 100, assignedAt: NOW });
		await store.insertToken(r);
		expect(await store.keepAlive(r._id, lease("b", NOW, NOW + 1000))).toBeNull();
		expect(await store.keepAlive(r._id, lease("a", NOW, NOW + 1000))).toMatchObject({
			leaseExpiresAt: NOW + 1000
		});
		expect(await store.keepAlive(r._id, lease("a", NOW + 1000, NOW + 2000))).toBeNull();
	});

	it("renews a running lease for whoever presents the token when no holder is named", async () => {
		const leased = poolToken("p", 0, {
			holder: "a",
			leaseExpiresAt: NOW + 100,
			assignedAt: NOW
		});
		const free = poolToken("p", 1);
		await store.insertToken(leased);
		await store.insertToken(free);
		expect(await store.keepAlive(leased._id, lease(undefined, NOW, NOW + 1000))).toMatchObject({
			holder: "a",
			leaseExpiresAt: NOW + 1000
		});
		expect(await store.keepAlive(free._id, lease(undefined, NOW, NOW + 1000))).toBeNull();
		expect(
			await store.keepAlive(leased._id, lease(undefined, NOW + 1000, NOW + 2000))
		).toBeNull();
	});

	it("releases a running lease, for its holder when one is named", async () => {
		const r = poolToken("p", 0, { holder: "a", leaseExpiresAt: NOW + 100, assignedAt: NOW });
		await store.insertToken(r);
		expect(await store.release(r._id, NOW, "b")).toBe(false);
		expect(await store.release(r._id, NOW, "a")).toBe(true);
		expect(await store.release(r._id, NOW)).toBe(false);
		expect(await store.findToken("p", [r.hash])).toMatchObject({
			holder: null,
			leaseExpiresAt: null
		});
	});

	it("finds tokens in their own pool only; removes them and the expired ones", async () => {
		const live = poolToken("p", 0);
		const dead = poolToken("p", 1, { expiresAt: NOW });
		for (const r of [live, dead]) await store.insertToken(r);
		expect(await store.findToken("p", ["x", live.hash])).toEqual(live);
		expect(await store.findToken("q", [live.hash])).toBeNull();
		expect(await store.removeExpired("p", NOW)).toBe(1);
		expect(await store.usedSlots("p")).toEqual([0]);
		expect(await store.removeToken(live._id)).toBe(true);
		expect(await store.removeToken(live._id)).toBe(false);
	});
});
