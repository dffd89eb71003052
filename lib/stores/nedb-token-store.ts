import type Datastore from "@seald-io/nedb";
import {
	isExpired,
	matches,
	type TokenMatch,
	type TokenRecord,
	type TokenStore
} from "./token-store";

/**
 * NeDB (moleculer-db's MemoryAdapter, persisted to a file). NeDB runs every operation through one
 * serial executor, so "remove by _id and see whether one document went" decides a single winner.
 * The native *Async methods are used directly: the adapter's promisified wrappers print a
 * deprecation warning (DEP0174) on every update under Node 24.
 */
export class NedbTokenStore implements TokenStore {
	constructor(private readonly db: Datastore<TokenRecord>) {}

	async ensureIndexes(): Promise<void> {
		await this.db.ensureIndexAsync({ fieldName: "hash", unique: true });
		await this.db.ensureIndexAsync({ fieldName: "owner" });
		await this.db.ensureIndexAsync({ fieldName: "expiresAt", sparse: true });
	}

	async insert(record: TokenRecord): Promise<void> {
		await this.db.insertAsync(record);
	}

	findByHashes(hashes: string[]): Promise<TokenRecord | null> {
		const query = hashes.length === 1 ? { hash: hashes[0] } : { hash: { $in: hashes } };
		return this.db.findOneAsync(query) as Promise<TokenRecord | null>;
	}

	async touch(id: string, now: number, staleBefore: number): Promise<void> {
		await this.db.updateAsync(
			{ _id: id, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: staleBefore } }] },
			{ $set: { lastUsedAt: now } },
			{}
		);
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
		const record = await this.db.findOneAsync({ _id: id, owner });
		return record ? this.removeIfPresent(record) : null;
	}

	listByOwner(owner: string, type?: string): Promise<TokenRecord[]> {
		const query = type === undefined ? { owner } : { owner, type };
		return this.db.findAsync(query).sort({ createdAt: 1 }) as unknown as Promise<TokenRecord[]>;
	}

	async removeByOwner(owner: string, type?: string): Promise<TokenRecord[]> {
		const records = await this.listByOwner(owner, type);
		return this.removeAll(records);
	}

	async removeExpired(now: number, limit: number): Promise<TokenRecord[]> {
		const records = (await this.db
			.findAsync({ expiresAt: { $lte: now } })
			.limit(limit)) as unknown as TokenRecord[];
		return this.removeAll(records);
	}

	async countByType(now: number): Promise<Record<string, { live: number; expired: number }>> {
		const records = (await this.db.findAsync(
			{},
			{ type: 1, expiresAt: 1, _id: 0 }
		)) as unknown as Pick<TokenRecord, "type" | "expiresAt">[];
		const counts: Record<string, { live: number; expired: number }> = {};
		for (const r of records) {
			const c = (counts[r.type] ??= { live: 0, expired: 0 });
			if (isExpired(r, now)) c.expired++;
			else c.live++;
		}
		return counts;
	}

	private async removeIfPresent(record: TokenRecord): Promise<TokenRecord | null> {
		const removed = await this.db.removeAsync({ _id: record._id }, {});
		return removed === 1 ? record : null;
	}

	private async removeAll(records: TokenRecord[]): Promise<TokenRecord[]> {
		if (records.length === 0) return [];
		await this.db.removeAsync({ _id: { $in: records.map(r => r._id) } }, { multi: true });
		return records;
	}
}
