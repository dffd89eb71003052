import { KeyRing } from "../../../lib/auth/key-ring";
import { AccessTokens } from "../../../lib/auth/jwt";
import { jwksOf, keyRingState, type SigningKeyRecord } from "../../../lib/auth/signing-keys";
import type { SigningKeyStore } from "../../../lib/auth/store/signing-key-store";
import { SealedBox } from "../../../lib/common/sealed-box";
import { decodeProtectedHeader } from "jose";

/** A store in memory: the KeyRing's contract is insert, list, remove. */
class MemoryKeyStore implements SigningKeyStore {
	records: SigningKeyRecord[] = [];
	lists = 0;
	async ensureIndexes() {}
	async insert(r: SigningKeyRecord) {
		this.records.push(r);
	}
	async list() {
		this.lists++;
		return this.records.map(r => ({ ...r }));
	}
	async remove(ids: string[]) {
		const before = this.records.length;
		this.records = this.records.filter(r => !ids.includes(r._id));
		return before - this.records.length;
	}
}

const SECRET = "a-secret-of-at-least-thirty-two-chars!!";

/** A ring over an in-memory store, its keys sealed as auth seals them. */
function ringOf(options: {
	algorithm?: "EdDSA" | "ES256";
	graceMs: number;
	reloadMs: number;
	now?: () => number;
	sleep?: (ms: number) => Promise<unknown>;
	store?: MemoryKeyStore;
}) {
	const store = options.store ?? new MemoryKeyStore();
	const box = new SealedBox(SECRET, "signing-keys");
	const ring = new KeyRing({
		store,
		algorithm: options.algorithm ?? "EdDSA",
		seal: pem => box.seal(pem),
		open: s => box.open(s),
		graceMs: options.graceMs,
		reloadMs: options.reloadMs,
		now: options.now,
		sleep: options.sleep
	});
	return { store, ring };
}

const key = (id: string, activatesAt: number) =>
	({
		_id: id,
		activatesAt,
		alg: "EdDSA",
		publicJwk: {},
		sealedPrivateKey: "",
		createdAt: 0
	}) as SigningKeyRecord;

describe("signing keys", () => {
	it("signs with the latest active key; retired keys verify through their grace", () => {
		const keys = [key("a", 0), key("b", 1000), key("c", 5000)];
		const at = (now: number) => {
			const s = keyRingState(keys, now, 2000);
			return {
				current: s.current?._id,
				verifying: s.verifying.map(k => k._id),
				expired: s.expired.map(k => k._id)
			};
		};
		expect(at(500)).toEqual({ current: "a", verifying: ["a", "b", "c"], expired: [] });
		expect(at(2999)).toEqual({ current: "b", verifying: ["a", "b", "c"], expired: [] });
		expect(at(3000)).toEqual({ current: "b", verifying: ["b", "c"], expired: ["a"] });
		expect(at(7000)).toEqual({ current: "c", verifying: ["c"], expired: ["a", "b"] });
		expect(keyRingState([], 0, 1).current).toBeNull();
	});

	it("rotates: a token of the old key verifies after the rotation and is refused once it retired", async () => {
		let now = 1_700_000_000_000;
		const { store, ring } = ringOf({ graceMs: 60_000, reloadMs: 1000, now: () => now });
		await ring.start();
		expect(store.records).toHaveLength(1);
		const tokens = new AccessTokens({
			secret: SECRET,
			issuer: "i",
			audience: "a",
			ttl: 60,
			algorithm: "EdDSA",
			keys: ring,
			now: () => now
		});
		const before = await tokens.issue("u1");
		const oldKid = decodeProtectedHeader(before.token).kid;
		await ring.add(now + 10_000);
		// Published at once, signing only after the delay.
		expect(ring.jwks().keys).toHaveLength(2);
		expect(decodeProtectedHeader((await tokens.issue("u2")).token).kid).toBe(oldKid);
		now += 10_000;
		const after = await tokens.issue("u3");
		expect(decodeProtectedHeader(after.token).kid).not.toBe(oldKid);
		expect(await tokens.verify(before.token)).toMatchObject({ sub: "u1" });
		now += 59_000;
		// A fresh verifier (no memo): the retired key still verifies within its grace, then not.
		const fresh = () =>
			new AccessTokens({
				secret: SECRET,
				issuer: "i",
				audience: "a",
				ttl: 3600,
				algorithm: "EdDSA",
				keys: ring,
				now: () => now - 59_000
			});
		expect(await fresh().verify(before.token)).toMatchObject({ sub: "u1" });
		now += 2000;
		expect(await fresh().verify(before.token)).toBeNull();
		expect(await fresh().verify(after.token)).toMatchObject({ sub: "u3" });
		expect(await ring.removeExpired()).toBe(1);
		expect(store.records).toHaveLength(1);
	});

	it("refuses an unknown kid, reloading the keys for it at most once a second", async () => {
		let now = 1_000_000;
		const slept: number[] = [];
		const { store, ring } = ringOf({
			algorithm: "ES256",
			graceMs: 1000,
			reloadMs: 60_000,
			now: () => now,
			sleep: async ms => {
				slept.push(ms);
				now += ms;
			}
		});
		await ring.start();
		const lists = store.lists;
		// 50 tokens with unknown kids at once, right after a load: one reload, a second later.
		const answers = await Promise.all(
			Array.from({ length: 50 }, (_, i) => ring.verificationKey(`nope-${i}`))
		);
		expect(answers.every(a => a === null)).toBe(true);
		expect(store.lists - lists).toBe(1);
		expect(slept).toEqual([1000]);
		// The next one waits for the next slot again.
		await ring.verificationKey("nope-again");
		expect(store.lists - lists).toBe(2);
		expect(slept).toEqual([1000, 1000]);
		// Past the slot, no wait.
		now += 5000;
		await ring.verificationKey("nope-later");
		expect(store.lists - lists).toBe(3);
		expect(slept).toHaveLength(2);
	});

	it("verifies a key another node stored just after this node loaded (within the throttle)", async () => {
		let now = 2_000_000;
		const other = ringOf({ graceMs: 60_000, reloadMs: 60_000, now: () => now });
		await other.ring.start();
		// Both rings read one store, as two auth nodes do.
		const { ring } = ringOf({
			graceMs: 60_000,
			reloadMs: 60_000,
			now: () => now,
			sleep: async ms => {
				now += ms;
			},
			store: other.store
		});
		await ring.start();
		const added = await other.ring.add(now);
		expect(await ring.verificationKey(added._id)).not.toBeNull();
	});

	it("publishes public parts only, and stores the private key sealed", async () => {
		const { store, ring } = ringOf({ graceMs: 1000, reloadMs: 1000 });
		await ring.start();
		const [published] = ring.jwks().keys as Record<string, unknown>[];
		expect(Object.keys(published).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x"]);
		expect(published).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
		const stored = JSON.stringify(store.records);
		expect(stored).not.toContain("PRIVATE KEY");
		expect(jwksOf(store.records).keys[0]).not.toHaveProperty("d");
	});
});
