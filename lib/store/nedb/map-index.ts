/**
 * A NeDB index backed by a Map, for a unique index over string keys (the token hash): lookups are
 * one Map read instead of an AVL search whose every level calls NeDB's generic comparator, which was
 * the largest cost of a `check` after the HMAC.
 *
 * NeDB's Index changes its tree only through `tree.insert(key, doc)`, `tree.delete(key, doc)` and
 * `reset()`, and reads it through `tree.search(key)`, `tree.betweenBounds(query)` and
 * `tree.executeOnEveryNode(fn)`; this provides exactly those, with the AVL tree's semantics for a
 * unique index (a second document under a key is refused with NeDB's `uniqueViolated` error).
 */

interface NedbIndexInternals<T> {
	unique: boolean;
	tree: unknown;
	reset(newData?: T | T[]): void;
	insert(doc: T | T[]): void;
}

class UniqueMapTree<T> {
	private readonly entries = new Map<unknown, T>();

	insert(key: unknown, doc: T): void {
		const existing = this.entries.get(key);
		if (existing !== undefined && existing !== doc) {
			// The key is a hash: not a secret, but no use to anyone reading an error either.
			const err = new Error("Can't insert a document: it violates the unique constraint");
			Object.assign(err, { key, errorType: "uniqueViolated" });
			throw err;
		}
		this.entries.set(key, doc);
	}

	/** As the AVL tree does for a single-document key: the key goes, whichever document is given. */
	delete(key: unknown): void {
		this.entries.delete(key);
	}

	search(key: unknown): T[] {
		const doc = this.entries.get(key);
		return doc === undefined ? [] : [doc];
	}

	/** Range queries are not what this index is for: answered correctly, by a full scan. */
	betweenBounds(query: { $lt?: string; $lte?: string; $gt?: string; $gte?: string }): T[] {
		const out: T[] = [];
		for (const [key, doc] of this.entries) {
			if (typeof key !== "string") continue;
			if (query.$lt !== undefined && !(key < query.$lt)) continue;
			if (query.$lte !== undefined && !(key <= query.$lte)) continue;
			if (query.$gt !== undefined && !(key > query.$gt)) continue;
			if (query.$gte !== undefined && !(key >= query.$gte)) continue;
			out.push(doc);
		}
		return out;
	}

	executeOnEveryNode(fn: (node: { key: unknown; data: T[] }) => void): void {
		for (const [key, doc] of this.entries) fn({ key, data: [doc] });
	}

	getNumberOfKeys(): number {
		return this.entries.size;
	}
}

/** Makes a unique NeDB index use a Map, keeping its documents. */
export function useMapForUniqueIndex<T>(index: unknown): void {
	const internals = index as NedbIndexInternals<T>;
	if (!internals.unique) throw new Error("A Map-backed index must be unique");
	const documents: T[] = [];
	(internals.tree as UniqueMapTree<T>).executeOnEveryNode(node => documents.push(...node.data));
	internals.reset = (newData?: T | T[]) => {
		internals.tree = new UniqueMapTree<T>();
		if (newData) internals.insert(newData);
	};
	internals.reset(documents);
}

/**
 * The documents NeDB's in-memory index on `field` holds under `key`, read directly: NeDB keeps its
 * indexes in step with every write before persisting it, and its executor queue, cursor and deep
 * copy cost more than a lookup by a unique key. The documents are NeDB's own: copy before changing.
 */
export function readIndex<T>(db: unknown, field: string, key: string): T[] {
	return (indexOf(db, field) as { getMatching(value: string): T[] }).getMatching(key);
}

/** NeDB's in-memory index on `field` of a datastore (`_id` always exists). */
export function indexOf(db: unknown, field: string): unknown {
	return (db as { indexes: Record<string, unknown> }).indexes[field];
}
