import { LookupBatcher } from "../../../lib/store/lookup-batcher";

interface Row {
	key: string;
	value: number;
}

/** A store whose queries the test answers by hand, in order. */
function manualStore() {
	const queries: { keys: string[]; answer: (rows: Row[]) => void; fail: (e: Error) => void }[] =
		[];
	const query = (keys: string[]) =>
		new Promise<Row[]>((resolve, reject) =>
			queries.push({ keys, answer: resolve, fail: reject })
		);
	return { queries, query };
}

const turn = () => new Promise(resolve => setImmediate(resolve));

describe("LookupBatcher", () => {
	it("sends the lookups of one turn as one query and answers each with its own row", async () => {
		const store = manualStore();
		const batcher = new LookupBatcher<Row>(store.query, r => [r.key]);
		const a = batcher.get(["a"]);
		const b = batcher.get(["x", "b"]);
		const c = batcher.get(["missing"]);
		await turn();
		expect(store.queries.map(q => q.keys)).toEqual([["a", "x", "b", "missing"]]);
		store.queries[0].answer([
			{ key: "b", value: 2 },
			{ key: "a", value: 1 }
		]);
		await expect(a).resolves.toEqual({ key: "a", value: 1 });
		await expect(b).resolves.toEqual({ key: "b", value: 2 });
		await expect(c).resolves.toBeNull();
	});

	it("sends a lookup asked while a query is in flight in a later query, never the earlier one", async () => {
		const store = manualStore();
		const batcher = new LookupBatcher<Row>(store.query, r => [r.key], 1);
		const first = batcher.get(["a"]);
		await turn();
		const second = batcher.get(["a"]);
		await turn();
		// One query at a time: the second waits, so it cannot miss a write that answered after the
		// first query was sent.
		expect(store.queries).toHaveLength(1);
		store.queries[0].answer([{ key: "a", value: 1 }]);
		await expect(first).resolves.toEqual({ key: "a", value: 1 });
		await turn();
		expect(store.queries).toHaveLength(2);
		store.queries[1].answer([]);
		await expect(second).resolves.toBeNull();
	});

	it("keeps at most maxInFlight queries and caps the keys per query", async () => {
		const store = manualStore();
		const batcher = new LookupBatcher<Row>(store.query, r => [r.key], 2, 3);
		const lookups = Array.from({ length: 10 }, (_, i) => batcher.get([`k${i}`]));
		await turn();
		expect(store.queries.map(q => q.keys.length)).toEqual([3, 3]);
		store.queries[0].answer([]);
		store.queries[1].answer([]);
		await Promise.all(lookups.slice(0, 6));
		await turn();
		expect(store.queries.map(q => q.keys.length)).toEqual([3, 3, 3, 1]);
		store.queries[2].answer([]);
		store.queries[3].answer([]);
		expect(await Promise.all(lookups)).toEqual(Array(10).fill(null));
	});

	it("fails every lookup of a failed query, and the next lookups still go out", async () => {
		const store = manualStore();
		const batcher = new LookupBatcher<Row>(store.query, r => [r.key]);
		const a = batcher.get(["a"]);
		const b = batcher.get(["b"]);
		await turn();
		store.queries[0].fail(new Error("connection lost"));
		await expect(a).rejects.toThrow("connection lost");
		await expect(b).rejects.toThrow("connection lost");
		const c = batcher.get(["c"]);
		await turn();
		store.queries[1].answer([{ key: "c", value: 3 }]);
		await expect(c).resolves.toEqual({ key: "c", value: 3 });
	});
});
