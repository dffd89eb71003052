import Datastore from "@seald-io/nedb";
import { useMapForUniqueIndex } from "../../../../lib/store/nedb/map-index";

type Doc = { _id?: string; hash: string; n?: number };

async function store(): Promise<Datastore<Doc>> {
	const db = new Datastore<Doc>();
	await db.insertAsync([{ hash: "b" }, { hash: "a" }]);
	await db.ensureIndexAsync({ fieldName: "hash", unique: true });
	useMapForUniqueIndex((db as unknown as { indexes: Record<string, unknown> }).indexes.hash);
	return db;
}

describe("a Map-backed unique NeDB index", () => {
	it("keeps the documents indexed before the switch", async () => {
		const db = await store();
		expect((await db.findOneAsync({ hash: "a" }))?.hash).toBe("a");
		expect(await db.findAsync({ hash: { $in: ["a", "b", "zz"] } })).toHaveLength(2);
	});

	it("refuses a second document under a key, changing nothing", async () => {
		const db = await store();
		await expect(db.insertAsync({ hash: "a" })).rejects.toMatchObject({
			errorType: "uniqueViolated"
		});
		await expect(db.insertAsync([{ hash: "c" }, { hash: "a" }])).rejects.toThrow();
		expect(await db.findOneAsync({ hash: "c" })).toBeNull();
		expect(await db.countAsync({})).toBe(2);
	});

	it("follows updates and removals", async () => {
		const db = await store();
		await db.updateAsync({ hash: "a" }, { $set: { n: 1 } }, {});
		expect((await db.findOneAsync({ hash: "a" }))?.n).toBe(1);
		await db.updateAsync({ hash: "a" }, { $set: { hash: "a2" } }, {});
		expect(await db.findOneAsync({ hash: "a" })).toBeNull();
		expect((await db.findOneAsync({ hash: "a2" }))?.n).toBe(1);
		await expect(db.updateAsync({ hash: "a2" }, { $set: { hash: "b" } }, {})).rejects.toThrow();
		expect((await db.findOneAsync({ hash: "a2" }))?.n).toBe(1);
		await db.removeAsync({ hash: "b" }, {});
		expect(await db.findOneAsync({ hash: "b" })).toBeNull();
		await db.insertAsync({ hash: "b" });
		expect(await db.countAsync({ hash: "b" })).toBe(1);
	});

	it("answers range queries correctly", async () => {
		const db = await store();
		expect((await db.findAsync({ hash: { $gte: "a", $lt: "b" } })).map(d => d.hash)).toEqual([
			"a"
		]);
	});

	it("is rebuilt with the data when NeDB resets its indexes", async () => {
		const db = await store();
		const index = (db as unknown as { indexes: Record<string, { reset(d: Doc[]): void }> })
			.indexes.hash;
		index.reset([{ _id: "x", hash: "q" }]);
		expect(await db.findAsync({ hash: "q" })).toHaveLength(1);
	});

	it("is only for unique indexes", async () => {
		const db = new Datastore<Doc>();
		await db.ensureIndexAsync({ fieldName: "hash" });
		expect(() =>
			useMapForUniqueIndex(
				(db as unknown as { indexes: Record<string, unknown> }).indexes.hash
			)
		).toThrow(/must be unique/);
	});
});
