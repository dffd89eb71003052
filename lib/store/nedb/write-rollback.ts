/**
 * NeDB applies a write to its in-memory indexes first and appends it to the data file second. When the
 * append fails (disk full, data file gone, I/O error) the write stays applied in memory only, and until
 * a restart the node answers from a state its file does not have: a token whose `generate` failed is
 * listed, a token whose `revoke` failed is gone (so a retry answers "not found"), yet it is back after
 * a restart. This undoes the in-memory part of a write whose append failed, so memory and file agree
 * and a failed write changed nothing; and it starts the next append on a new line, so a line the
 * failure left half-written cannot swallow the next record (NeDB skips empty lines when loading).
 *
 * It wraps NeDB's internal index operations (as the stores already read its indexes). Every write is
 * one executor task that changes the indexes and then calls `persistNewStateAsync` once, and tasks
 * never overlap, so the changes recorded before a persist call are exactly that write's.
 */
import { appendFile } from "node:fs/promises";

interface Doc {
	_id?: unknown;
}

interface Modification {
	oldDoc: Doc;
	newDoc: Doc;
}

/** The internals of @seald-io/nedb 3 and 4 this relies on. */
interface NedbInternals {
	_insertInCache(doc: Doc | Doc[]): void;
	_removeFromIndexes(doc: Doc): void;
	_updateIndexes(oldDoc: Doc | Modification[], newDoc?: Doc): void;
	persistence: {
		filename?: string;
		inMemoryOnly?: boolean;
		persistNewStateAsync(docs: Doc[]): Promise<void>;
	};
}

const guarded = new WeakSet<object>();

/** Makes a datastore undo in memory any write its data file did not take; returns it. */
export function rollBackFailedWrites<T extends object>(datastore: T): T {
	if (guarded.has(datastore)) return datastore;
	guarded.add(datastore);
	const db = datastore as unknown as NedbInternals;
	const insertInCache = db._insertInCache.bind(db);
	const removeFromIndexes = db._removeFromIndexes.bind(db);
	const updateIndexes = db._updateIndexes.bind(db);
	const persist = db.persistence.persistNewStateAsync.bind(db.persistence);

	/** How to undo each index change made since the last persist, in order. */
	let undo: (() => void)[] = [];
	let lineMayBeTorn = false;

	/** Runs `change`; keeps `revert` only if it succeeded (NeDB undoes a failed one itself). */
	const record = (change: () => void, revert: () => void) => {
		const mark = undo.length;
		try {
			change();
		} catch (err) {
			undo.length = mark;
			throw err;
		}
		undo.push(revert);
	};

	db._insertInCache = doc => {
		const docs = Array.isArray(doc) ? doc : [doc];
		record(
			() => insertInCache(doc),
			() => docs.forEach(removeFromIndexes)
		);
	};
	db._removeFromIndexes = doc => {
		record(
			() => removeFromIndexes(doc),
			() => insertInCache(doc)
		);
	};
	db._updateIndexes = (oldDoc, newDoc) => {
		record(
			() => updateIndexes(oldDoc, newDoc),
			Array.isArray(oldDoc)
				? () => updateIndexes(oldDoc.map(m => ({ oldDoc: m.newDoc, newDoc: m.oldDoc })))
				: () => updateIndexes(newDoc!, oldDoc)
		);
	};
	db.persistence.persistNewStateAsync = async docs => {
		const changes = undo;
		undo = [];
		try {
			const { filename, inMemoryOnly } = db.persistence;
			if (lineMayBeTorn && filename && !inMemoryOnly && docs.length > 0) {
				await appendFile(filename, "\n", "utf8");
			}
			await persist(docs);
			lineMayBeTorn = false;
		} catch (err) {
			lineMayBeTorn = true;
			for (const revert of changes.reverse()) revert();
			throw err;
		}
	};
	return datastore;
}
