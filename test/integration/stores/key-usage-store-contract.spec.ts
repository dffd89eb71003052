/**
 * One contract, every store, for what API keys have spent (lib/auth/api-key-usage/key-usage-store): credits
 * set, spent once each under concurrency, refilled once per period; rate-limit windows counted and
 * cleaned up; a key forgotten. NeDB always, PostgreSQL when it answers (always in CI), MongoDB when
 * MONGO_URI is set. The store is the one `auth` opens.
 */
import { randomUUID } from "node:crypto";
import AuthService from "../../../services/auth/auth.service";
import type {
	KeyUsageStore,
	SharedKeyUsageStore
} from "../../../lib/auth/api-key-usage/key-usage-store";
import { LeasingKeyUsageStore } from "../../../lib/auth/api-key-usage/leasing-key-usage-store";
import {
	startAuthOnStore,
	startServiceOnStore,
	storeKinds,
	type StoreKind
} from "../../helpers/stores";
import { FAST_SCRYPT } from "../../helpers/auth";

const USAGE_TABLES = ["api_key_credits", "api_key_windows"];

function contract(kind: StoreKind) {
	let usage: KeyUsageStore;
	let stop: () => Promise<void>;

	beforeAll(async () => {
		const started = await startAuthOnStore<{ keyUsage: KeyUsageStore }>(kind, USAGE_TABLES);
		usage = started.service.keyUsage;
		stop = started.stop;
	});
	afterAll(() => stop());

	it("spends each credit once under 300 concurrent spends of 50", async () => {
		const id = randomUUID();
		await usage.setCredits(id, { remaining: 50, refilledAt: 0 });
		const left = await Promise.all(
			Array.from({ length: 300 }, () => usage.spendCredit(id, null))
		);
		const spent = left.filter(l => l !== null);
		expect(spent).toHaveLength(50);
		expect(new Set(spent).size).toBe(50);
		expect(Math.min(...(spent as number[]))).toBe(0);
		expect(await usage.credits(id)).toEqual({ remaining: 0, refilledAt: 0 });
	});

	it("has nothing to spend for a key without credits", async () => {
		const id = randomUUID();
		expect(await usage.spendCredit(id, null)).toBeNull();
		expect(await usage.credits(id)).toBeNull();
	});

	it("refills once per period, to the amount, even when many spend at once", async () => {
		const id = randomUUID();
		await usage.setCredits(id, { remaining: 0, refilledAt: 1000 });
		expect(await usage.spendCredit(id, { amount: 5, periodStart: 1000 })).toBeNull();
		const due = { amount: 5, periodStart: 2000 };
		const left = await Promise.all(
			Array.from({ length: 20 }, () => usage.spendCredit(id, due))
		);
		expect(left.filter(l => l !== null).sort()).toEqual([0, 1, 2, 3, 4]);
		expect(await usage.credits(id)).toEqual({ remaining: 0, refilledAt: 2000 });
	});

	it("sets credits again, replacing what was left", async () => {
		const id = randomUUID();
		await usage.setCredits(id, { remaining: 1, refilledAt: 0 });
		expect(await usage.spendCredit(id, null)).toBe(0);
		await usage.setCredits(id, { remaining: 3, refilledAt: 0 });
		expect(await usage.spendCredit(id, null)).toBe(2);
	});

	it("counts requests per key, limit and window, every one under concurrency", async () => {
		const id = randomUUID();
		const hits = await Promise.all(
			Array.from({ length: 100 }, () => usage.hit(id, "burst", 60_000, 120_000))
		);
		expect([...hits].sort((a, b) => a - b)).toEqual(
			Array.from({ length: 100 }, (_, i) => i + 1)
		);
		expect(await usage.hit(id, "daily", 0, 86_400_000)).toBe(1);
		expect(await usage.hit(randomUUID(), "burst", 60_000, 120_000)).toBe(1);
		// The next window starts at one.
		expect(await usage.hit(id, "burst", 120_000, 180_000)).toBe(1);
	});

	it("removes ended windows, and everything of a removed key", async () => {
		const id = randomUUID();
		await usage.hit(id, "old", 0, 1000);
		await usage.hit(id, "live", Date.now() - 1000, Date.now() + 60_000);
		expect(await usage.removeEndedWindows(1000)).toBeGreaterThanOrEqual(1);
		expect(await usage.hit(id, "old", 0, 1000)).toBe(1);
		await usage.setCredits(id, { remaining: 9, refilledAt: 0 });
		await usage.removeKey(id);
		expect(await usage.credits(id)).toBeNull();
		expect(await usage.spendCredit(id, null)).toBeNull();
		expect(await usage.hit(id, "live", Date.now() - 1000, Date.now() + 60_000)).toBe(1);
	});

	it("keeps spent credits across a flush", async () => {
		const id = randomUUID();
		await usage.setCredits(id, { remaining: 4, refilledAt: 0 });
		await usage.spendCredit(id, null);
		await usage.flush();
		expect(await usage.credits(id)).toEqual({ remaining: 3, refilledAt: 0 });
	});
}

/** The lease statements of the shared stores (lib/auth/api-key-usage), one statement each. */
function leaseContract(kind: StoreKind) {
	let shared: SharedKeyUsageStore;
	let stop: () => Promise<void>;

	beforeAll(async () => {
		const started = await startAuthOnStore<{ keyUsage: KeyUsageStore }>(kind, USAGE_TABLES);
		const usage = started.service.keyUsage;
		if (!(usage instanceof LeasingKeyUsageStore)) throw new Error(`${kind} does not lease`);
		shared = usage.shared;
		stop = started.stop;
	});
	afterAll(() => stop());

	it("never grants more credits than are left, whatever the concurrent leases ask", async () => {
		const id = randomUUID();
		await shared.setCredits(id, { remaining: 100, refilledAt: 0 });
		const grants = await Promise.all(
			Array.from({ length: 40 }, (_, i) => shared.leaseCredits(id, null, 1 + (i % 7)))
		);
		expect(grants.reduce((sum, g) => sum + g!.granted, 0)).toBe(100);
		expect(await shared.credits(id)).toEqual({ remaining: 0, refilledAt: 0 });
		expect(await shared.leaseCredits(randomUUID(), null, 5)).toBeNull();
	});

	it("refills on a lease in a new period, and takes back only this period's returns", async () => {
		const id = randomUUID();
		await shared.setCredits(id, { remaining: 0, refilledAt: 1000 });
		const grant = (await shared.leaseCredits(id, { amount: 10, periodStart: 2000 }, 4))!;
		expect(grant).toMatchObject({ granted: 4, left: 6, periodStart: 2000 });
		await shared.returnCredits(id, 3, grant);
		await shared.returnCredits(id, 5, { ...grant, periodStart: 1000 });
		expect(await shared.credits(id)).toEqual({ remaining: 9, refilledAt: 2000 });
	});

	it("does not take back a lease of credits that were set anew since", async () => {
		const id = randomUUID();
		await shared.setCredits(id, { remaining: 10, refilledAt: 0 });
		const grant = (await shared.leaseCredits(id, null, 4))!;
		await shared.setCredits(id, { remaining: 3, refilledAt: 0 });
		await shared.returnCredits(id, 4, grant);
		expect(await shared.credits(id)).toEqual({ remaining: 3, refilledAt: 0 });
	});

	it("never grants more of a window than its limit, and takes returns back", async () => {
		const id = randomUUID();
		const window = { start: 60_000, end: 120_000, limit: 50 };
		const grants = await Promise.all(
			Array.from({ length: 40 }, (_, i) => shared.leaseHits(id, "w", window, 1 + (i % 4)))
		);
		expect(grants.reduce((sum, g) => sum + g.granted, 0)).toBe(50);
		expect(grants.some(g => g.left === 0)).toBe(true);
		await shared.returnHits(id, "w", window.start, 5);
		expect(await shared.leaseHits(id, "w", window, 10)).toEqual({ granted: 5, left: 0 });
	});
}

const kinds = storeKinds("the API-key usage store contracts");

for (const kind of kinds) describe(`API-key usage store on ${kind}`, () => contract(kind));

for (const kind of kinds.filter(k => k !== "nedb")) {
	describe(`API-key usage leases on ${kind}`, () => leaseContract(kind));
}

describe("API-key usage on the embedded store", () => {
	it("writes spent credits behind: a restarted node goes on from what was flushed", async () => {
		const first = await startServiceOnStore<{ keyUsage: KeyUsageStore; settings: object }>(
			"nedb",
			AuthService,
			"auth",
			{ settings: { password: FAST_SCRYPT } }
		);
		const id = randomUUID();
		await first.service.keyUsage.setCredits(id, { remaining: 10, refilledAt: 0 });
		for (let i = 0; i < 3; i++) await first.service.keyUsage.spendCredit(id, null);
		const dataDir = (first.service.settings as { dataDir: string }).dataDir;
		// Stopping flushes; a second auth on the same folder reads 7.
		await first.broker.stop();
		const second = await startServiceOnStore<{ keyUsage: KeyUsageStore }>(
			"nedb",
			AuthService,
			"auth",
			{ settings: { password: FAST_SCRYPT, dataDir } }
		);
		try {
			expect(await second.service.keyUsage.credits(id)).toEqual({
				remaining: 7,
				refilledAt: 0
			});
		} finally {
			await second.stop();
			await first.stop().catch(() => undefined);
		}
	});
});
