import {
	Allowance,
	IDLE_MS,
	MAX_HOLD_MS,
	MAX_LEASE,
	SHARE,
	leaseSize,
	type Grant
} from "../../../lib/auth/api-key-usage/allowance";

/** A shared count as a store keeps it: leases never grant more than is left. */
class SharedCount {
	statements = 0;
	returned = 0;
	constructor(public left: number) {}
	async lease(n: number): Promise<Grant> {
		this.statements++;
		await Promise.resolve();
		const granted = Math.min(n, this.left);
		this.left -= granted;
		return { granted, left: this.left };
	}
	async giveBack(n: number): Promise<void> {
		this.returned += n;
		this.left += n;
	}
	allowance(now: () => number = Date.now): Allowance {
		return new Allowance(
			n => this.lease(n),
			n => this.giveBack(n),
			now
		);
	}
}

describe("leaseSize", () => {
	it("asks for one at first, for whoever waits, and for LEASE_SPAN_MS of the observed rate", () => {
		expect(leaseSize(1, 0, null)).toBe(1);
		expect(leaseSize(40, 0, null)).toBe(40);
		expect(leaseSize(1, 20_000, null)).toBe(2_000);
	});

	it("takes at most 1/SHARE of what is left, and 1 near the end", () => {
		expect(leaseSize(500, 0, 80)).toBe(80 / SHARE);
		expect(leaseSize(500, 0, SHARE - 1)).toBe(1);
		expect(leaseSize(500, 0, 0)).toBe(1);
	});

	it("never more than MAX_LEASE", () => {
		expect(leaseSize(1, 1e9, null)).toBe(MAX_LEASE);
	});
});

describe("Allowance", () => {
	it("passes exactly the count to any number of concurrent uses, with far fewer statements", async () => {
		const count = new SharedCount(100);
		const allowance = count.allowance();
		const passed = (
			await Promise.all(Array.from({ length: 1000 }, () => allowance.take()))
		).filter(l => l !== null).length;
		expect(passed).toBe(100);
		expect(count.left).toBe(0);
		expect(count.statements).toBeLessThan(60);
	});

	it("two nodes on one count never pass more than it, and the last credits are spent", async () => {
		const count = new SharedCount(100);
		const a = count.allowance();
		const b = count.allowance();
		const uses = Array.from({ length: 1000 }, (_, i) => (i % 2 ? a : b).take());
		const passed = (await Promise.all(uses)).filter(l => l !== null).length;
		expect(passed).toBeLessThanOrEqual(100);
		// What one node still holds goes back on release; then the other spends it.
		await a.release(true);
		await b.release(true);
		let more = 0;
		while ((await a.take()) !== null) more++;
		expect(passed + more).toBe(100);
	});

	it("spends from its lease without a statement while the lease lasts", async () => {
		let now = 1_000;
		const count = new SharedCount(1_000_000);
		const allowance = count.allowance(() => now);
		await Promise.all(Array.from({ length: 500 }, () => allowance.take()));
		now += 10;
		// 500 uses in 10 ms: the next lease covers LEASE_SPAN_MS of that rate.
		expect(await allowance.take()).toBe(1_000_000 - 501);
		const statements = count.statements;
		for (let i = 0; i < 100; i++) expect(allowance.take()).toBe(1_000_000 - 502 - i);
		expect(count.statements).toBe(statements);
		// What this node sees as left: the store's remainder and its unspent lease.
		expect(allowance.left).toBe(1_000_000 - 601);
	});

	it("keeps a lease while used, gives it back after IDLE_MS idle or MAX_HOLD_MS in all", async () => {
		let now = 1_000_000;
		const count = new SharedCount(1_000);
		const allowance = count.allowance(() => now);
		await Promise.all(Array.from({ length: 50 }, () => allowance.take()));
		now += 10;
		await allowance.take();
		const held = 1_000 - count.left - 51;
		expect(held).toBeGreaterThan(0);
		now += IDLE_MS - 1;
		await allowance.release();
		expect(count.returned).toBe(0);
		now += 1;
		await allowance.release();
		expect(count.returned).toBe(held);
		expect(count.left).toBe(1_000 - 51);

		// In steady use, a lease older than MAX_HOLD_MS goes back too.
		const busy = new SharedCount(1_000);
		let t = 0;
		const used = busy.allowance(() => t);
		await Promise.all(Array.from({ length: 20 }, () => used.take()));
		t = 10;
		await used.take();
		let uses = 21;
		for (; t < 10 + MAX_HOLD_MS; t += 50) {
			expect(await used.take()).not.toBeNull();
			uses++;
			await used.release();
			expect(busy.returned).toBe(0);
		}
		await used.take();
		uses++;
		await used.release();
		expect(busy.returned).toBeGreaterThan(0);
		expect(busy.left + uses).toBe(1_000);
	});

	it("a stopping node gives back everything it holds", async () => {
		const count = new SharedCount(10_000);
		const allowance = count.allowance();
		await Promise.all(Array.from({ length: 300 }, () => allowance.take()));
		await allowance.release(true);
		expect(count.left).toBe(10_000 - 300);
		expect(allowance.left).toBe(10_000 - 300);
	});

	it("refuses once the store is empty, and passes again when credits come back", async () => {
		const count = new SharedCount(3);
		const allowance = count.allowance();
		// Each use that passes sees what is left after it.
		expect(await Promise.all([1, 2, 3, 4, 5].map(() => allowance.take()))).toEqual([
			2,
			1,
			0,
			null,
			null
		]);
		count.left = 1;
		expect(await allowance.take()).toBe(0);
		expect(await allowance.take()).toBeNull();
	});

	it("a dropped lease is not given back (the count was set anew)", async () => {
		const count = new SharedCount(1_000);
		const allowance = count.allowance();
		await Promise.all(Array.from({ length: 100 }, () => allowance.take()));
		allowance.drop();
		await allowance.release(true);
		expect(count.returned).toBe(0);
	});

	it("a failed lease statement fails the uses waiting for it, and the next use asks again", async () => {
		let fail = true;
		const allowance = new Allowance(
			async n => {
				if (fail) throw new Error("store down");
				return { granted: n, left: 100 };
			},
			async () => undefined
		);
		await expect(Promise.all([allowance.take(), allowance.take()])).rejects.toThrow(
			"store down"
		);
		fail = false;
		expect(await allowance.take()).not.toBeNull();
	});

	it("a store with nothing to lease from refuses", async () => {
		const allowance = new Allowance(
			async () => ({ granted: 0, left: null }),
			async () => undefined
		);
		expect(await allowance.take()).toBeNull();
	});
});
