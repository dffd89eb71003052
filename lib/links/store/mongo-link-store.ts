import type { MongoCollection } from "../../store/mongo/collection";
import { redeemableFilter, type LinkRecord, type LinkStore } from "./link-store";

/** MongoDB: findOneAndDelete / findOneAndUpdate on one document decide concurrent redeems. */
export class MongoLinkStore implements LinkStore {
	constructor(private readonly collection: MongoCollection<LinkRecord>) {}

	async ensureIndexes(): Promise<void> {
		await this.collection.createIndex({ hash: 1 }, { unique: true });
		await this.collection.createIndex({ owner: 1 });
		await this.collection.createIndex({ validUntil: 1 });
	}

	async insert(record: LinkRecord): Promise<void> {
		await this.collection.insertOne(record);
	}

	findByHashes(hashes: string[]): Promise<LinkRecord | null> {
		return this.collection.findOne(hashQuery(hashes));
	}

	async spend(id: string, now: number): Promise<boolean> {
		const res = await this.collection.findOneAndDelete(redeemableFilter(id, now));
		return res.value !== null;
	}

	async claim(id: string, now: number, lockedUntil: number): Promise<LinkRecord | null> {
		const res = await this.collection.findOneAndUpdate(
			redeemableFilter(id, now),
			{ $set: { lastAccess: now, lockedUntil }, $inc: { uses: 1 } },
			{ returnOriginal: false }
		);
		return res.value;
	}

	async removeByHashes(hashes: string[]): Promise<LinkRecord | null> {
		return (await this.collection.findOneAndDelete(hashQuery(hashes))).value;
	}

	async removeExpired(now: number, limit: number): Promise<number> {
		const ids = await this.collection
			.find({ validUntil: { $lte: now } })
			.project({ _id: 1 })
			.limit(limit)
			.toArray();
		if (ids.length === 0) return 0;
		const res = await this.collection.deleteMany({ _id: { $in: ids.map(r => r._id) } });
		return res.deletedCount ?? ids.length;
	}

	async removeByOwner(owner: string): Promise<number> {
		const res = await this.collection.deleteMany({ owner });
		return res.deletedCount ?? 0;
	}
}

function hashQuery(hashes: string[]): Record<string, unknown> {
	return hashes.length === 1 ? { hash: hashes[0] } : { hash: { $in: hashes } };
}
