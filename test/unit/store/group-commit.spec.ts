import { GroupCommit } from "../../../lib/store/group-commit";

describe("GroupCommit", () => {
	it("writes items added during a write together in the next one", async () => {
		const writes: number[][] = [];
		const commit = new GroupCommit<number>(async items => {
			writes.push(items);
			await new Promise(r => setTimeout(r, 5));
		});
		await Promise.all([1, 2, 3, 4, 5].map(i => commit.add(i)));
		expect(writes).toEqual([[1], [2, 3, 4, 5]]);
	});

	it("caps a write at maxBatch items", async () => {
		const sizes: number[] = [];
		const commit = new GroupCommit<number>(async items => {
			sizes.push(items.length);
		}, 3);
		await Promise.all(Array.from({ length: 8 }, (_, i) => commit.add(i)));
		expect(sizes.reduce((a, b) => a + b, 0)).toBe(8);
		expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
	});

	it("rejects every caller of a failed write, and keeps working afterwards", async () => {
		let fail = true;
		const commit = new GroupCommit<string>(async () => {
			if (fail) throw new Error("disk full");
		});
		const results = await Promise.allSettled([commit.add("a"), commit.add("b")]);
		expect(results.map(r => r.status)).toEqual(["rejected", "rejected"]);
		fail = false;
		await expect(commit.add("c")).resolves.toBeUndefined();
	});
});

describe("GroupCommit, when one item of a batch is refused", () => {
	/** A store that refuses any batch holding "bad", as a multi-row INSERT would. */
	function refusingStore(refusable: boolean) {
		const written: string[] = [];
		const commit = new GroupCommit<string>(
			async items => {
				await new Promise(r => setTimeout(r, 2));
				if (items.includes("bad")) throw new Error("refused");
				written.push(...items);
			},
			1000,
			() => refusable
		);
		return { commit, written };
	}

	it("writes the others of its batch one by one: only the refused item's caller fails", async () => {
		const { commit, written } = refusingStore(true);
		const results = await Promise.allSettled(
			["first", "a", "bad", "b", "c"].map(item => commit.add(item))
		);
		expect(results.map(r => r.status)).toEqual([
			"fulfilled",
			"fulfilled",
			"rejected",
			"fulfilled",
			"fulfilled"
		]);
		expect(written.sort()).toEqual(["a", "b", "c", "first"]);
	});

	it("fails the whole batch when the error is not one item's (the store is down)", async () => {
		const { commit, written } = refusingStore(false);
		const results = await Promise.allSettled(
			["first", "a", "bad", "b"].map(item => commit.add(item))
		);
		expect(results.map(r => r.status)).toEqual([
			"fulfilled",
			"rejected",
			"rejected",
			"rejected"
		]);
		expect(written).toEqual(["first"]);
	});
});
