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
