import type Datastore from "@seald-io/nedb";
import { redeemableFilter, type LinkRecord, type LinkStore } from "./link-store";

/**
 * NeDB (moleculer-db's MemoryAdapter, persisted to a file). Every operation runs through NeDB's
 * serial executor, so a conditional remove/update that reports one affected document is the single
 * winner among concurrent redeems. Native *Async methods only (see nedb-token-store.ts).
 */
export class NedbLinkStore implements LinkStore {
	constructor(private readonly db: Datastore<LinkRecord>) {}

	async ensureIndexes(): Promise<void> {
		await this.db.ensureIndexAsync({ fieldName: "hash", unique: true });
		await this.db.ensureIndexAsync({ fieldName: "owner" });
		await this.db.ensureIndexAsync({ fieldName: "validUntil" });
	}

	async insert(record: LinkRecord): Promise<void> {
		await this.db.insertAsync(record);
	}

	findByHashes(hashes: string[]): Promise<LinkRecord | null> {
		return this.db.findOneAsync(hashQuery(hashes)) as Promise<LinkRecord | null>;
	}

	async spend(id: string, now: number): Promise<boolean> {
		return (await this.db.removeAsync(redeemableFilter(id, now), {})) === 1;
	}

	async claim(id: string, now: number, lockedUntil: number): Promise<LinkRecord | null> {
		const res = await this.db.updateAsync(
			redeemableFilter(id, now),
			{ $set: { lastAccess: now, lockedUntil }, $inc: { uses: 1 } },
			{ returnUpdatedDocs: true }
		);
		if (res.numAffected !== 1) return null;
		return res.affectedDocuments as unknown as LinkRecord;
	}

	async removeByHashes(hashes: string[]): Promise<LinkRecord | null> {
		const record = await this.findByHashes(hashes);
		if (!record) return null;
		return (await this.db.removeAsync({ _id: record._id }, {})) === 1 ? record : null;
	}

	async removeExpired(now: number, limit: number): Promise<number> {
		const ids = (await this.db
			.findAsync({ validUntil: { $lte: now } }, { _id: 1 })
			.limit(limit)) as unknown as { _id: string }[];
		if (ids.length === 0) return 0;
		return this.db.removeAsync({ _id: { $in: ids.map(r => r._id) } }, { multi: true });
	}

	removeByOwner(owner: string): Promise<number> {
		return this.db.removeAsync({ owner }, { multi: true });
	}
}

function hashQuery(hashes: string[]): Record<string, unknown> {
	return hashes.length === 1 ? { hash: hashes[0] } : { hash: { $in: hashes } };
}
