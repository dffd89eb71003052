/**
 * One contract, every store, for passkeys (lib/auth/store/passkey-store): kept and found as
 * written, listed per user oldest first, renamed and removed only by their owner, the counter's
 * compare-and-set deciding concurrent uses, a cloned passkey never used again. NeDB always,
 * PostgreSQL when it answers (always in CI), MongoDB when MONGO_URI is set. The store is the one
 * `auth` opens.
 */
import { randomUUID } from "node:crypto";
import type { PasskeyRecord, PasskeyStore } from "../../../lib/auth/store/passkey-store";
import { startAuthOnStore, storeKinds, type StoreKind } from "../../helpers/stores";

function passkey(
	userId: string,
	createdAt: number,
	extra: Partial<PasskeyRecord> = {}
): PasskeyRecord {
	return {
		_id: randomUUID(),
		userId,
		name: "laptop",
		publicKey: "pQECAyYgASFYIA",
		counter: 0,
		transports: ["internal", "hybrid"],
		deviceType: "multiDevice",
		backedUp: true,
		createdAt,
		lastUsedAt: null,
		clonedAt: null,
		...extra
	};
}

function contract(kind: StoreKind) {
	let store: PasskeyStore;
	let stop: () => Promise<void>;

	beforeAll(async () => {
		const started = await startAuthOnStore<{ passkeys: PasskeyStore }>(kind, ["passkeys"]);
		store = started.service.passkeys;
		stop = started.stop;
	});
	afterAll(() => stop());

	it("keeps a passkey as written and lists a user's oldest first", async () => {
		const user = randomUUID();
		const newer = passkey(user, 2_000, { name: "phone", transports: ["hybrid"] });
		const older = passkey(user, 1_000, { deviceType: "singleDevice", backedUp: false });
		await store.insert(newer);
		await store.insert(older);
		await store.insert(passkey(randomUUID(), 500));
		expect(await store.findById(older._id)).toEqual(older);
		expect((await store.listOfUser(user)).map(p => p._id)).toEqual([older._id, newer._id]);
		expect(await store.findById(randomUUID())).toBeNull();
	});

	it("renames and removes only the owner's passkey", async () => {
		const user = randomUUID();
		const p = passkey(user, 1_000);
		await store.insert(p);
		expect(await store.rename(p._id, randomUUID(), "x")).toBeNull();
		expect(await store.rename(p._id, user, "desk")).toMatchObject({ _id: p._id, name: "desk" });
		expect(await store.remove(p._id, randomUUID())).toBe(false);
		expect(await store.remove(p._id, user)).toBe(true);
		expect(await store.remove(p._id, user)).toBe(false);
	});

	it("records a use once the counter is still what was read: one of concurrent uses wins", async () => {
		const p = passkey(randomUUID(), 1_000, { counter: 4 });
		await store.insert(p);
		const wins = await Promise.all(
			Array.from({ length: 20 }, (_, i) => store.recordUse(p._id, 4, 5 + i, 9_000))
		);
		expect(wins.filter(Boolean)).toHaveLength(1);
		const used = await store.findById(p._id);
		expect(used).toMatchObject({ lastUsedAt: 9_000 });
		expect(used!.counter).toBeGreaterThanOrEqual(5);
	});

	it("never records a use of a passkey marked cloned", async () => {
		const p = passkey(randomUUID(), 1_000);
		await store.insert(p);
		await store.markCloned(p._id, 7_000);
		await store.markCloned(p._id, 8_000);
		expect(await store.findById(p._id)).toMatchObject({ clonedAt: 7_000 });
		expect(await store.recordUse(p._id, 0, 1, 9_000)).toBe(false);
	});

	it("removes every passkey of a user, and only theirs", async () => {
		const user = randomUUID();
		const other = passkey(randomUUID(), 1_000);
		await store.insert(passkey(user, 1_000));
		await store.insert(passkey(user, 2_000));
		await store.insert(other);
		expect(await store.removeAllOfUser(user)).toBe(2);
		expect(await store.listOfUser(user)).toEqual([]);
		expect(await store.findById(other._id)).toEqual(other);
	});
}

for (const kind of storeKinds("the passkey store contract")) {
	describe(`passkey store on ${kind}`, () => contract(kind));
}
