import { CallerCache, ExpiringCache } from "../../../lib/auth/caller-cache";

function deferred<T>() {
	let resolve!: (value: T) => void;
	const promise = new Promise<T>(r => (resolve = r));
	return { promise, resolve };
}

describe("ExpiringCache", () => {
	it("answers from memory until the TTL, then loads again", async () => {
		let now = 0;
		let loads = 0;
		const cache = new ExpiringCache<string>(1000, 10, () => now);
		const load = async () => `v${++loads}`;
		expect(await cache.get("a", load)).toBe("v1");
		now = 999;
		expect(cache.get("a", load)).toBe("v1");
		now = 1000;
		expect(await cache.get("a", load)).toBe("v2");
	});

	it("shares one load among concurrent readers, and keeps no null", async () => {
		let loads = 0;
		const cache = new ExpiringCache<string>(1000);
		const pending = deferred<string | null>();
		const readers = [1, 2, 3].map(() =>
			cache.get("a", () => {
				loads++;
				return pending.promise;
			})
		);
		pending.resolve(null);
		expect(await Promise.all(readers)).toEqual([null, null, null]);
		expect(loads).toBe(1);
		expect(cache.size).toBe(0);
	});

	it("does not keep what a load read before a forget (the write may have come after the read)", async () => {
		const cache = new ExpiringCache<string>(60_000);
		const stale = deferred<string | null>();
		const first = cache.get("a", () => stale.promise);
		cache.forget(key => key === "a");
		// A reader after the forget does not join the load that started before it.
		const second = cache.get("a", async () => "fresh");
		stale.resolve("stale");
		expect(await first).toBe("stale");
		expect(await second).toBe("fresh");
		expect(cache.get("a", async () => "again")).toBe("fresh");
	});

	it("with a TTL of 0 always loads", async () => {
		let loads = 0;
		const cache = new ExpiringCache<number>(0);
		await cache.get("a", async () => ++loads);
		await cache.get("a", async () => ++loads);
		expect(loads).toBe(2);
	});

	it("holds at most maxEntries, dropping the oldest", async () => {
		const cache = new ExpiringCache<number>(60_000, 2);
		for (const k of ["a", "b", "c"]) await cache.get(k, async () => 1);
		expect(cache.size).toBe(2);
		let loaded = false;
		await cache.get("a", async () => ((loaded = true), 2));
		expect(loaded).toBe(true);
	});
});

describe("CallerCache", () => {
	async function filled() {
		const cache = new CallerCache<{ _id: string }, string>(60_000);
		await cache.users.get("u1", async () => ({ _id: "u1" }));
		await cache.users.get("u2", async () => ({ _id: "u2" }));
		await cache.sessions.get("s1", async () => ({ id: "s1", userId: "u1", revokedAt: null }));
		await cache.sessions.get("s2", async () => ({ id: "s2", userId: "u2", revokedAt: null }));
		for (const [id, owner] of [
			["k1", "u1"],
			["k2", "u2"]
		]) {
			await cache.keys.get(cache.keyDigest(`key-${id}`), async () => ({
				id,
				owner,
				expiresAt: null,
				entity: id
			}));
		}
		return cache;
	}

	it("forgets a user with their sessions and keys, and nothing of anyone else", async () => {
		const cache = await filled();
		cache.forget({ users: ["u1"] });
		expect(cache.users.values()).toEqual([{ _id: "u2" }]);
		expect(cache.sessions.values().map(s => s.id)).toEqual(["s2"]);
		expect(cache.keys.values().map(k => k.id)).toEqual(["k2"]);
	});

	it("forgets one session, one key by id, or an owner's keys", async () => {
		const cache = await filled();
		cache.forget({ sessions: ["s2"], keys: ["k1"] });
		expect(cache.sessions.values().map(s => s.id)).toEqual(["s1"]);
		expect(cache.keys.values().map(k => k.id)).toEqual(["k2"]);
		cache.forget({ keyOwners: ["u2"] });
		expect(cache.keys.size).toBe(0);
		expect(cache.users.size).toBe(2);
	});

	it("keeps keys under a per-process HMAC, never the key", async () => {
		const cache = await filled();
		const other = new CallerCache(1000);
		expect(cache.keyDigest("key-k1")).not.toContain("key-k1");
		expect(cache.keyDigest("key-k1")).toBe(cache.keyDigest("key-k1"));
		expect(other.keyDigest("key-k1")).not.toBe(cache.keyDigest("key-k1"));
		cache.clear();
		expect(cache.users.size + cache.sessions.size + cache.keys.size).toBe(0);
	});
});
