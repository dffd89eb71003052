/**
 * One contract, every store, for the `auth` service's stores (users, refresh-token families): the
 * same cases run against the embedded NeDB store (always) and against MongoDB whenever MONGO_URI is
 * set (MongoDB cannot be installed on our CI machines, so there that half is skipped with a
 * message). The stores are obtained the way the service gets them: from `auth` started on that
 * adapter.
 */
import { randomUUID } from "node:crypto";
import {
	DuplicateUserError,
	type UserRecord,
	type UserSearch,
	type UserStore
} from "../../../lib/auth/store/user-store";
import {
	newFamilyRecord,
	fingerprintOf,
	type NextRefreshToken,
	type RefreshFamilyRecord,
	type RefreshFamilyStore
} from "../../../lib/auth/store/refresh-family-store";
import { startAuthOnStore, storeKinds, type StoreKind } from "../../helpers/stores";

interface Stores {
	users: UserStore;
	families: RefreshFamilyStore;
	stop(): Promise<void>;
}

async function startStores(kind: StoreKind): Promise<Stores> {
	const { service, stop } = await startAuthOnStore<{
		store: UserStore;
		families: RefreshFamilyStore;
	}>(kind, ["refresh_families"]);
	return { users: service.store, families: service.families, stop };
}

const NOW = 1_700_000_000_000;

function user(name: string, overrides: Partial<UserRecord> = {}): UserRecord {
	return {
		_id: randomUUID(),
		username: name,
		usernameKey: name.toLowerCase(),
		email: `${name}@Example.com`,
		emailKey: `${name.toLowerCase()}@example.com`,
		passwordHash: "scrypt$1024$8$1$salt$hash",
		emailVerified: false,
		scopes: [],
		tokensValidAfter: 0,
		createdAt: NOW,
		updatedAt: NOW,
		...overrides
	};
}

function family(userId: string, overrides: Partial<RefreshFamilyRecord> = {}): RefreshFamilyRecord {
	const first = newFamilyRecord({
		id: randomUUID(),
		userId,
		fingerprint: fingerprintOf(randomUUID()),
		createdAt: NOW,
		expiresAt: NOW + 3600_000
	});
	return { ...first, ...overrides };
}

/** The next refresh token of a rotation, with nothing remembered beside its fingerprint. */
function plainNext(fingerprint: string, expiresAt = NOW): NextRefreshToken {
	return {
		fingerprint,
		expiresAt,
		rotatedAt: NOW,
		sealed: null,
		userAgent: null,
		clientAddress: null
	};
}

function contract(kind: StoreKind) {
	let stores: Stores;

	beforeEach(async () => {
		stores = await startStores(kind);
	});

	afterEach(async () => {
		await stores.stop();
	});

	describe("users", () => {
		it("finds a user by id, username key and e-mail key", async () => {
			const u = user("Alice");
			await stores.users.insert(u);
			expect(await stores.users.findById(u._id)).toEqual(u);
			expect(await stores.users.findByUsernameKey("alice")).toEqual(u);
			expect(await stores.users.findByEmailKey("alice@example.com")).toEqual(u);
			expect(await stores.users.findById("nobody")).toBeNull();
			expect(await stores.users.findByUsernameKey("Alice")).toBeNull();
		});

		it("hands out copies: changing a found record changes nothing stored", async () => {
			const u = user("Dora", { scopes: ["read"] });
			await stores.users.insert(u);
			const found = (await stores.users.findById(u._id))!;
			found.username = "Mallory";
			found.scopes.push("admin");
			expect(await stores.users.findById(u._id)).toEqual(u);
		});

		it("finds a user by id, and its updates, as soon as they have returned", async () => {
			const u = user("Erin");
			await stores.users.insert(u);
			expect(await stores.users.findById(u._id)).toEqual(u);
			const updated = await stores.users.update(u._id, { scopes: ["write"] }, NOW + 1);
			expect(await stores.users.findById(u._id)).toEqual(updated);
		});

		it("refuses a second user with a taken username key or e-mail key", async () => {
			await stores.users.insert(user("Bob"));
			await expect(
				stores.users.insert(user("BOB", { emailKey: "other@example.com" }))
			).rejects.toBeInstanceOf(DuplicateUserError);
			await expect(
				stores.users.insert(user("Robert", { emailKey: "bob@example.com" }))
			).rejects.toBeInstanceOf(DuplicateUserError);
		});

		it("of concurrent inserts with one e-mail key, exactly one succeeds", async () => {
			const results = await Promise.allSettled(
				Array.from({ length: 10 }, (_, i) =>
					stores.users.insert(user(`racer${i}`, { emailKey: "same@example.com" }))
				)
			);
			expect(results.filter(r => r.status === "fulfilled")).toHaveLength(1);
			for (const r of results.filter(r => r.status === "rejected")) {
				expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateUserError);
			}
		});

		it("updates fields and updatedAt, returning the new record", async () => {
			const u = user("Carol");
			await stores.users.insert(u);
			const updated = await stores.users.update(
				u._id,
				{ emailVerified: true, tokensValidAfter: NOW + 1000, scopes: ["read"] },
				NOW + 5
			);
			expect(updated).toEqual({
				...u,
				emailVerified: true,
				tokensValidAfter: NOW + 1000,
				scopes: ["read"],
				updatedAt: NOW + 5
			});
			expect(await stores.users.findById(u._id)).toEqual(updated);
			expect(await stores.users.update("nobody", { emailVerified: true }, NOW)).toBeNull();
		});

		it("replaces a password hash only if it is still the expected one", async () => {
			const u = user("Dave");
			await stores.users.insert(u);
			expect(
				await stores.users.replacePasswordHash(u._id, {
					expected: "stale",
					next: "next",
					now: NOW
				})
			).toBe(false);
			expect((await stores.users.findById(u._id))!.passwordHash).toBe(u.passwordHash);
			expect(
				await stores.users.replacePasswordHash(u._id, {
					expected: u.passwordHash!,
					next: "next",
					now: NOW
				})
			).toBe(true);
			expect((await stores.users.findById(u._id))!.passwordHash).toBe("next");
		});

		it("clears a password hash", async () => {
			const u = user("Erin");
			await stores.users.insert(u);
			expect(
				(await stores.users.update(u._id, { passwordHash: null }, NOW))!.passwordHash
			).toBeNull();
			expect((await stores.users.findById(u._id))!.passwordHash).toBeNull();
		});

		it("finds unconfirmed accounts older than a cut-off, and removes a user", async () => {
			const old = { ...user("Frank"), createdAt: NOW - 10_000 };
			const fresh = { ...user("Grace"), createdAt: NOW };
			const confirmed = { ...user("Heidi"), createdAt: NOW - 10_000, emailVerified: true };
			for (const u of [old, fresh, confirmed]) await stores.users.insert(u);
			const found = await stores.users.findUnconfirmedBefore(NOW - 1, 100);
			expect(found.map(u => u._id)).toContain(old._id);
			expect(found.map(u => u._id)).not.toContain(fresh._id);
			expect(found.map(u => u._id)).not.toContain(confirmed._id);
			expect(await stores.users.findUnconfirmedBefore(NOW - 1, 1)).toHaveLength(1);
			expect(await stores.users.remove(old._id)).toBe(true);
			expect(await stores.users.remove(old._id)).toBe(false);
			expect(await stores.users.findById(old._id)).toBeNull();
			// Its names are free again.
			await stores.users.insert({ ...user("Frank"), _id: "frank-again" });
			const emails = await stores.users.listEmails();
			expect(emails).toContainEqual({ _id: fresh._id, email: fresh.email });
		});

		it("searches by username or address prefix and by status, in username order after a key", async () => {
			const names = ["al_one", "al_two", "al%x", "bo_one", "al_locked", "al_was"];
			const users = names.map((n, i) =>
				user(n, {
					emailVerified: i % 2 === 0,
					usernameKey: n,
					emailKey: `${n}@example.com`
				})
			);
			for (const u of users) await stores.users.insert(u);
			const keys = async (search: Partial<UserSearch>) =>
				(await stores.users.search({ limit: 100, now: NOW, ...search })).map(
					u => u.usernameKey
				);
			await stores.users.update(
				users[4]._id,
				{ lockedAt: NOW - 10, lockedUntil: null, lockReason: "r" },
				NOW
			);
			// A lock that ended counts as none.
			await stores.users.update(
				users[5]._id,
				{ lockedAt: NOW - 10, lockedUntil: NOW - 1, lockReason: "r" },
				NOW
			);
			expect(await keys({ prefix: "al_" })).toEqual([
				"al_locked",
				"al_one",
				"al_two",
				"al_was"
			]);
			// LIKE's wildcards are literal; addresses match too.
			expect(await keys({ prefix: "al%" })).toEqual(["al%x"]);
			expect(await keys({ prefix: "bo_one@exa" })).toEqual(["bo_one"]);
			expect(await keys({ prefix: "al_", status: "locked" })).toEqual(["al_locked"]);
			expect(await keys({ prefix: "al_", status: "active" })).toEqual(["al_one"]);
			expect(await keys({ prefix: "al_", status: "unconfirmed" })).toEqual([
				"al_two",
				"al_was"
			]);
			expect(await keys({ prefix: "al_", after: "al_one", limit: 1 })).toEqual(["al_two"]);
			// Once the lock's end passes, the locked user is active or unconfirmed again.
			expect(await keys({ prefix: "al_locked", status: "locked", now: NOW + 10 })).toEqual([
				"al_locked"
			]);
			const found = await stores.users.findById(users[4]._id);
			expect(found).toMatchObject({ lockedAt: NOW - 10, lockedUntil: null, lockReason: "r" });
			await stores.users.update(
				users[4]._id,
				{ lockedAt: null, lockedUntil: null, lockReason: null },
				NOW
			);
			expect(await keys({ prefix: "al_", status: "locked" })).toEqual([]);
		});

		it("records a sign-in's time", async () => {
			const u = user("Signer");
			await stores.users.insert(u);
			await stores.users.recordSignIn(u._id, NOW + 5);
			expect((await stores.users.findById(u._id))!.lastSignInAt).toBe(NOW + 5);
		});
	});

	describe("refresh-token families", () => {
		it("finds a family by any remembered fingerprint", async () => {
			const f = family("u1");
			await stores.families.insert(f);
			expect(await stores.families.findByFingerprint(f.current!)).toEqual(f);
			expect(await stores.families.findByFingerprint(fingerprintOf("unknown"))).toBeNull();
			// A service-API session keeps its scopes.
			const scoped = { ...family("subject:s1"), scopes: ["read", "write"] };
			await stores.families.insert(scoped);
			expect(await stores.families.findById(scoped._id)).toEqual(scoped);
		});

		it("hands out copies: changing a found family changes nothing stored", async () => {
			const f = family("u1");
			await stores.families.insert(f);
			const found = (await stores.families.findByFingerprint(f.current!))!;
			found.current = null;
			found.fingerprints.push(fingerprintOf("planted"));
			expect(await stores.families.findByFingerprint(f.current!)).toEqual(f);
			expect(await stores.families.findByFingerprint(fingerprintOf("planted"))).toBeNull();
		});

		it("rotates with a compare-and-set, remembering at most `history` fingerprints", async () => {
			const f = family("u1");
			await stores.families.insert(f);
			const fps = [f.current!];
			for (let i = 0; i < 4; i++) {
				const next = fingerprintOf(randomUUID());
				expect(
					await stores.families.rotate(f._id, {
						expected: fps[fps.length - 1],
						next: plainNext(next, NOW + i),
						history: 3
					})
				).toBe(true);
				fps.push(next);
			}
			const now = await stores.families.findByFingerprint(fps[4]);
			expect(now).toMatchObject({
				current: fps[4],
				generation: 5,
				fingerprints: fps.slice(2),
				expiresAt: NOW + 3
			});
			// A stale expected value changes nothing.
			expect(
				await stores.families.rotate(f._id, {
					expected: fps[3],
					next: plainNext("x"),
					history: 3
				})
			).toBe(false);
			// Forgotten beyond the history.
			expect(await stores.families.findByFingerprint(fps[1])).toBeNull();
			expect(await stores.families.findByFingerprint(fps[2])).not.toBeNull();
		});

		it("remembers the live token's parent and sealed successor, forgotten on revocation or after the interval", async () => {
			const a = family("u1");
			const b = family("u1");
			for (const f of [a, b]) await stores.families.insert(f);
			const next = (sealed: string) => ({
				fingerprint: fingerprintOf(randomUUID()),
				expiresAt: NOW + 1000,
				rotatedAt: NOW + 5,
				sealed,
				userAgent: "Firefox",
				clientAddress: "203.0.113.0/24"
			});
			const na = next("sealed-a");
			const nb = next("sealed-b");
			expect(
				await stores.families.rotate(a._id, {
					expected: a.current!,
					next: na,
					history: 100
				})
			).toBe(true);
			expect(
				await stores.families.rotate(b._id, {
					expected: b.current!,
					next: nb,
					history: 100
				})
			).toBe(true);
			expect(await stores.families.findByFingerprint(na.fingerprint)).toMatchObject({
				current: na.fingerprint,
				previous: a.current,
				rotatedAt: NOW + 5,
				successor: "sealed-a",
				userAgent: "Firefox",
				clientAddress: "203.0.113.0/24"
			});
			expect(await stores.families.revoke(a._id, "sign-out", NOW + 6)).toMatchObject({
				successor: null
			});
			expect(await stores.families.clearSuccessorsBefore(NOW + 5)).toBe(0);
			expect(await stores.families.clearSuccessorsBefore(NOW + 6)).toBe(1);
			expect(await stores.families.findByFingerprint(nb.fingerprint)).toMatchObject({
				previous: b.current,
				successor: null
			});
		});

		it("finds a family by id and lists a user's live families, oldest first", async () => {
			const older = family("u7", { createdAt: NOW - 10 });
			const newer = family("u7", { createdAt: NOW - 5, userAgent: "Safari" });
			const revoked = family("u7", { revokedAt: NOW, current: null });
			const expired = family("u7", { expiresAt: NOW - 1 });
			const other = family("u8");
			for (const f of [newer, older, revoked, expired, other])
				await stores.families.insert(f);
			expect(await stores.families.findById(newer._id)).toEqual(newer);
			expect(await stores.families.findById("no-such-family")).toBeNull();
			const live = await stores.families.listLiveOfUser("u7", NOW);
			expect(live.map(f => f._id)).toEqual([older._id, newer._id]);
			expect(live[1]).toMatchObject({ userAgent: "Safari" });
		});

		it("of concurrent rotations from one token, exactly one succeeds", async () => {
			const f = family("u1");
			await stores.families.insert(f);
			const results = await Promise.all(
				Array.from({ length: 10 }, () =>
					stores.families.rotate(f._id, {
						expected: f.current!,
						next: plainNext(fingerprintOf(randomUUID())),
						history: 100
					})
				)
			);
			expect(results.filter(Boolean)).toHaveLength(1);
			expect((await stores.families.findByFingerprint(f.current!))!.generation).toBe(2);
		});

		it("revokes once; a revoked family no longer rotates", async () => {
			const f = family("u1");
			await stores.families.insert(f);
			const results = await Promise.all(
				Array.from({ length: 5 }, () => stores.families.revoke(f._id, "reuse", NOW + 1))
			);
			expect(results.filter(r => r !== null)).toHaveLength(1);
			const revoked = results.find(r => r !== null)!;
			expect(revoked).toMatchObject({
				current: null,
				revokedAt: NOW + 1,
				revokedReason: "reuse",
				fingerprints: f.fingerprints
			});
			expect(
				await stores.families.rotate(f._id, {
					expected: f.current!,
					next: plainNext("x"),
					history: 100
				})
			).toBe(false);
			// Still found by its fingerprints: that is how a replay is recognised.
			expect(await stores.families.findByFingerprint(f.fingerprints[0])).toMatchObject({
				revokedAt: NOW + 1
			});
		});

		it("revokes every live family of one user and no other", async () => {
			const mine = [
				family("u1"),
				family("u1"),
				family("u1", { revokedAt: NOW, current: null })
			];
			const theirs = family("u2");
			for (const f of [...mine, theirs]) await stores.families.insert(f);
			expect(await stores.families.revokeAllOfUser("u1", "sign-out", NOW + 2)).toBe(2);
			for (const f of mine) {
				expect(
					(await stores.families.findByFingerprint(f.fingerprints[0]))!.revokedAt
				).not.toBeNull();
			}
			expect(
				(await stores.families.findByFingerprint(theirs.current!))!.revokedAt
			).toBeNull();
		});

		it("deletes families whose last token expired", async () => {
			const expired = family("u1", { expiresAt: NOW - 1 });
			const live = family("u1", { expiresAt: NOW + 1 });
			await stores.families.insert(expired);
			await stores.families.insert(live);
			expect(await stores.families.removeExpired(NOW)).toBe(1);
			expect(await stores.families.findByFingerprint(expired.current!)).toBeNull();
			expect(await stores.families.findByFingerprint(live.current!)).not.toBeNull();
		});
	});
}

const kinds = storeKinds("the auth store contracts");

for (const kind of kinds) describe(`auth stores on ${kind}`, () => contract(kind));
