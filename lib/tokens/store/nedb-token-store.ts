import { copyData } from "../../store/storable-data";
import type Datastore from "@seald-io/nedb";
import { GroupCommit } from "../../store/group-commit";
import { isStoreUnavailable } from "../../store/store-errors";
import { useMapForUniqueIndex } from "../../store/nedb/map-index";
import {
	isExpired,
	matches,
	type TokenChanges,
	type TokenMatch,
	type TokenRecord,
	type TokenStore
} from "./token-store";

/** A stored document: `expiresAt` is left out for tokens that never expire (see `toStored`). */
type StoredToken = Omit<TokenRecord, "expiresAt"> & { expiresAt?: number };

/**
 * NeDB matches `$in` by scanning the list for every candidate document, so one operation on n ids
 * costs n²: 10,000 ids take seconds. Multi-document writes go out in chunks of this many ids.
 */
const ID_CHUNK = 100;

function chunks<T>(items: T[], size = ID_CHUNK): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
	return out;
}

/** NeDB's in-memory index, which it keeps in step with every write before persisting it. */
interface NedbIndex {
	getMatching(value: string | string[]): StoredToken[];
	/** An AVL tree (binary-search-tree's AVLTree) whose root node is `tree.tree`. */
	tree: { tree: IndexNode };
}

interface IndexNode {
	key?: unknown;
	data: StoredToken[];
	left: IndexNode | null;
	right: IndexNode | null;
}

/**
 * Up to `limit` documents whose key is at most `max`, smallest first, by an in-order walk that stops
 * once it has enough. NeDB's own range query collects every match before a cursor applies the limit,
 * which would make each cleanup batch cost as much as all the expired tokens together.
 */
function lowestUpTo(root: IndexNode, max: number, limit: number): StoredToken[] {
	const out: StoredToken[] = [];
	const visit = (node: IndexNode | null): void => {
		if (!node || !("key" in node) || out.length >= limit) return;
		visit(node.left);
		if (out.length >= limit || typeof node.key !== "number" || node.key > max) return;
		for (const doc of node.data) {
			if (out.length >= limit) return;
			out.push(doc);
		}
		visit(node.right);
	};
	visit(root);
	return out;
}

/**
 * NeDB (moleculer-db's MemoryAdapter, persisted to a file).
 *
 * - Writes go through NeDB's serial executor, so "remove by _id and see whether one document went"
 *   decides a single winner among concurrent consumes.
 * - Lookups by hash read NeDB's unique in-memory index directly: the executor queue, cursor and deep
 *   copy cost more than the lookup itself on the hottest path. Index updates are synchronous, so a
 *   lookup sees a token from the moment its insert is applied until its removal is.
 * - Inserts are group-committed: concurrent `generate`s share one append to the data file.
 * - The native *Async methods are used directly: the adapter's promisified wrappers print a
 *   deprecation warning (DEP0174) on every update under Node 24.
 */
export class NedbTokenStore implements TokenStore {
	private readonly inserts: GroupCommit<StoredToken>;

	constructor(private readonly db: Datastore<StoredToken>) {
		// NeDB refuses a whole multi-document insert for one bad document: unless the file cannot be
		// written, each is then inserted on its own.
		this.inserts = new GroupCommit(
			async docs => {
				await this.db.insertAsync(docs);
			},
			1000,
			err => !isStoreUnavailable(err)
		);
	}

	async ensureIndexes(): Promise<void> {
		await this.db.ensureIndexAsync({ fieldName: "hash", unique: true });
		useMapForUniqueIndex(this.index("hash"));
		await this.db.ensureIndexAsync({ fieldName: "owner" });
		// Sparse: never-expiring tokens have no `expiresAt`, so they stay out of this index instead of
		// piling up under one `null` key that every insert and update would have to scan.
		await this.db.ensureIndexAsync({ fieldName: "expiresAt", sparse: true });
	}

	insert(record: TokenRecord): Promise<void> {
		return this.inserts.add(toStored(record));
	}

	private index(field: "hash" | "expiresAt"): NedbIndex {
		return (this.db as unknown as { indexes: Record<string, NedbIndex> }).indexes[field];
	}

	async findByHashes(hashes: string[]): Promise<TokenRecord | null> {
		const found = this.index("hash").getMatching(hashes.length === 1 ? hashes[0] : hashes);
		return found.length > 0 ? fromStored(found[0]) : null;
	}

	async touch(ids: string[], now: number, staleBefore: number): Promise<void> {
		for (const chunk of chunks(ids)) {
			await this.db.updateAsync(
				{
					_id: { $in: chunk },
					$or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: staleBefore } }]
				},
				{ $set: { lastUsedAt: now } },
				{ multi: true }
			);
		}
	}

	async consume(match: TokenMatch, now: number): Promise<TokenRecord | null> {
		const record = await this.findByHashes(match.hashes);
		if (!record || !matches(record, match) || isExpired(record, now)) return null;
		return this.removeIfPresent(record);
	}

	async remove(match: TokenMatch): Promise<TokenRecord | null> {
		const record = await this.findByHashes(match.hashes);
		if (!record || !matches(record, match)) return null;
		return this.removeIfPresent(record);
	}

	async removeById(id: string, owner: string): Promise<TokenRecord | null> {
		const doc = await this.db.findOneAsync({ _id: id, owner });
		return doc ? this.removeIfPresent(fromStored(doc)) : null;
	}

	async update(id: string, owner: string, changes: TokenChanges): Promise<TokenRecord | null> {
		const res = await this.db.updateAsync(
			{ _id: id, owner },
			{ $set: changes },
			{ returnUpdatedDocs: true }
		);
		return res.numAffected === 1 ? fromStored(res.affectedDocuments as StoredToken) : null;
	}

	async listByOwner(owner: string, type?: string): Promise<TokenRecord[]> {
		const query = type === undefined ? { owner } : { owner, type };
		const docs = await this.db.findAsync(query).sort({ createdAt: 1 });
		return docs.map(fromStored);
	}

	async removeByOwner(owner: string, type?: string): Promise<TokenRecord[]> {
		const records = await this.listByOwner(owner, type);
		return this.removeAll(records);
	}

	async removeExpired(now: number, limit: number): Promise<TokenRecord[]> {
		const docs = lowestUpTo(this.index("expiresAt").tree.tree, now, limit);
		return this.removeAll(docs.map(fromStored));
	}

	async countByType(now: number): Promise<Record<string, { live: number; expired: number }>> {
		const docs = await this.db.findAsync({}, { type: 1, expiresAt: 1, _id: 0 });
		const counts: Record<string, { live: number; expired: number }> = {};
		for (const doc of docs) {
			const c = (counts[doc.type] ??= { live: 0, expired: 0 });
			if (isExpired({ expiresAt: doc.expiresAt ?? null }, now)) c.expired++;
			else c.live++;
		}
		return counts;
	}

	private async removeIfPresent(record: TokenRecord): Promise<TokenRecord | null> {
		const removed = await this.db.removeAsync({ _id: record._id }, {});
		return removed === 1 ? record : null;
	}

	private async removeAll(records: TokenRecord[]): Promise<TokenRecord[]> {
		for (const chunk of chunks(records)) {
			await this.db.removeAsync({ _id: { $in: chunk.map(r => r._id) } }, { multi: true });
		}
		return records;
	}
}

function toStored(record: TokenRecord): StoredToken {
	if (record.expiresAt !== null) return record as StoredToken;
	const { expiresAt: _never, ...rest } = record;
	return rest;
}

/** A copy the caller may keep: documents from the index are NeDB's own. */
function fromStored(doc: StoredToken): TokenRecord {
	return {
		_id: doc._id,
		type: doc.type,
		owner: doc.owner,
		hash: doc.hash,
		name: doc.name ?? null,
		scopes: doc.scopes ? [...doc.scopes] : [],
		data: doc.data ? copyData(doc.data) : null,
		createdAt: doc.createdAt,
		expiresAt: doc.expiresAt ?? null,
		lastUsedAt: doc.lastUsedAt ?? null
	};
}
