/**
 * NeDB itself (a real datastore on a temp file), its data file made unwritable by pointing it at
 * /dev/full: a write that fails must leave memory as the file has it.
 */
import { appendFileSync, readFileSync, renameSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import Datastore from "@seald-io/nedb";
import { rollBackFailedWrites } from "../../../../lib/store/nedb/write-rollback";
import { removeDir, tempDataDir } from "../../../helpers/broker";

interface Doc {
	_id: string;
	hash: string;
	n?: number;
}

describe("rollBackFailedWrites", () => {
	let dir: string;
	let file: string;
	let db: Datastore<Doc>;

	const diskFull = () => {
		renameSync(file, `${file}.real`);
		symlinkSync("/dev/full", file);
	};
	const diskBack = () => {
		unlinkSync(file);
		renameSync(`${file}.real`, file);
	};
	const ids = async (store = db) => (await store.findAsync({})).map(d => d._id).sort();
	const reload = async () => {
		const fresh = new Datastore<Doc>({ filename: file });
		await fresh.loadDatabaseAsync();
		return fresh;
	};

	beforeEach(async () => {
		dir = tempDataDir("nedb-rollback-");
		file = join(dir, "things.db");
		db = rollBackFailedWrites(new Datastore<Doc>({ filename: file }));
		await db.loadDatabaseAsync();
		await db.ensureIndexAsync({ fieldName: "hash", unique: true });
		await db.insertAsync([
			{ _id: "a", hash: "ha", n: 1 },
			{ _id: "b", hash: "hb", n: 1 }
		]);
	});

	afterEach(() => removeDir(dir));

	it("undoes a failed insert, of one document or many", async () => {
		diskFull();
		await expect(db.insertAsync({ _id: "c", hash: "hc" })).rejects.toMatchObject({
			code: "ENOSPC"
		});
		await expect(
			db.insertAsync([
				{ _id: "d", hash: "hd" },
				{ _id: "e", hash: "he" }
			])
		).rejects.toMatchObject({ code: "ENOSPC" });
		expect(await ids()).toEqual(["a", "b"]);
		// The unique index forgot them too: the same hashes insert fine later.
		diskBack();
		await db.insertAsync({ _id: "c2", hash: "hc" });
		expect(await ids()).toEqual(["a", "b", "c2"]);
	});

	it("undoes a failed remove, of one document or many", async () => {
		diskFull();
		await expect(db.removeAsync({ _id: "a" }, {})).rejects.toMatchObject({ code: "ENOSPC" });
		await expect(db.removeAsync({}, { multi: true })).rejects.toMatchObject({
			code: "ENOSPC"
		});
		expect(await ids()).toEqual(["a", "b"]);
		expect(await db.findOneAsync({ hash: "ha" })).toMatchObject({ _id: "a" });
		diskBack();
		expect(await db.removeAsync({ _id: "a" }, {})).toBe(1);
		expect(await ids(await reload())).toEqual(["b"]);
	});

	it("undoes a failed update", async () => {
		diskFull();
		await expect(db.updateAsync({}, { $set: { n: 2 } }, { multi: true })).rejects.toMatchObject(
			{ code: "ENOSPC" }
		);
		expect((await db.findAsync({})).map(d => d.n)).toEqual([1, 1]);
		diskBack();
	});

	it("keeps NeDB's own rollback of a unique violation, with nothing extra to undo later", async () => {
		await expect(
			db.insertAsync([
				{ _id: "c", hash: "hc" },
				{ _id: "d", hash: "ha" }
			])
		).rejects.toMatchObject({ errorType: "uniqueViolated" });
		diskFull();
		await expect(db.insertAsync({ _id: "e", hash: "he" })).rejects.toMatchObject({
			code: "ENOSPC"
		});
		expect(await ids()).toEqual(["a", "b"]);
		diskBack();
	});

	it("starts the next append on a new line, so a half-written line cannot swallow it", async () => {
		// Enough lines that one torn line stays under NeDB's 10% corruption threshold for loading.
		await db.insertAsync(
			Array.from({ length: 18 }, (_, i) => ({ _id: `f${i}`, hash: `hf${i}` }))
		);
		await db.removeAsync({ _id: { $regex: /^f/ } }, { multi: true });
		diskFull();
		await expect(db.insertAsync({ _id: "c", hash: "hc" })).rejects.toBeDefined();
		diskBack();
		// What a write cut short by a full disk leaves at the end of the file.
		appendFileSync(file, '{"_id":"c","ha');
		await db.insertAsync({ _id: "d", hash: "hd" });
		const lines = readFileSync(file, "utf8").split("\n");
		expect(lines).toContain('{"_id":"d","hash":"hd"}');
		expect(await ids(await reload())).toEqual(["a", "b", "d"]);
	});

	it("wraps a datastore once, however often it is asked", async () => {
		expect(rollBackFailedWrites(db)).toBe(db);
		diskFull();
		await expect(db.removeAsync({ _id: "a" }, {})).rejects.toBeDefined();
		expect(await ids()).toEqual(["a", "b"]);
		diskBack();
	});
});
