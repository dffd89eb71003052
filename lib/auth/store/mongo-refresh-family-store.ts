import type { MongoCollection, MongoFilter } from "../../store/mongo/collection";
import type { RefreshFamilyRecord, RefreshFamilyStore, Rotation } from "./refresh-family-store";
import * as query from "./auth-mongo-queries";

/** The shared collection type, with updateMany's result typed. */
export type FamilyCollection = Omit<MongoCollection<RefreshFamilyRecord>, "updateMany"> & {
	updateMany(filter: MongoFilter, update: MongoFilter): Promise<{ modifiedCount?: number }>;
};

/** MongoDB: single-document conditional updates (findOneAndUpdate) decide concurrent rotations. */
export class MongoRefreshFamilyStore implements RefreshFamilyStore {
	constructor(private readonly collection: FamilyCollection) {}

	async ensureIndexes(): Promise<void> {
		await this.collection.createIndex({ fingerprints: 1 });
		await this.collection.createIndex({ userId: 1 });
		await this.collection.createIndex({ expiresAt: 1 });
	}

	async insert(record: RefreshFamilyRecord): Promise<void> {
		await this.collection.insertOne(record);
	}

	findByFingerprint(fingerprint: string): Promise<RefreshFamilyRecord | null> {
		return this.collection.findOne({ fingerprints: fingerprint });
	}

	findById(id: string): Promise<RefreshFamilyRecord | null> {
		return this.collection.findOne({ _id: id });
	}

	listLiveOfUser(userId: string, now: number): Promise<RefreshFamilyRecord[]> {
		return this.collection
			.find({ userId, revokedAt: null, expiresAt: { $gt: now } })
			.sort({ createdAt: 1 })
			.toArray();
	}

	async rotate(id: string, rotation: Rotation): Promise<boolean> {
		const { filter, update } = query.rotation(id, rotation);
		return (await this.collection.findOneAndUpdate(filter, update)).value !== null;
	}

	async revoke(id: string, reason: string, now: number): Promise<RefreshFamilyRecord | null> {
		const res = await this.collection.findOneAndUpdate(
			{ _id: id, revokedAt: null },
			query.revocation(reason, now),
			{ returnOriginal: false }
		);
		return res.value;
	}

	async revokeAllOfUser(userId: string, reason: string, now: number): Promise<number> {
		const res = await this.collection.updateMany(
			{ userId, revokedAt: null },
			query.revocation(reason, now)
		);
		return res.modifiedCount ?? 0;
	}

	async removeExpired(now: number): Promise<number> {
		const res = await this.collection.deleteMany({ expiresAt: { $lte: now } });
		return res.deletedCount ?? 0;
	}

	async clearSuccessorsBefore(cutoff: number): Promise<number> {
		const res = await this.collection.updateMany(
			{ successor: { $ne: null }, rotatedAt: { $lt: cutoff } },
			{ $set: { successor: null } }
		);
		return res.modifiedCount ?? 0;
	}
}
