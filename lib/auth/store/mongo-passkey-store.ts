import type { MongoCollection } from "../../store/mongo/collection";
import type { PasskeyRecord, PasskeyStore } from "./passkey-store";

/** MongoDB: single-document conditional updates. Typed, not run here (no MongoDB on CI). */
export class MongoPasskeyStore implements PasskeyStore {
	constructor(private readonly collection: MongoCollection<PasskeyRecord>) {}

	async ensureIndexes(): Promise<void> {
		await this.collection.createIndex({ userId: 1, createdAt: 1 });
	}

	async insert(record: PasskeyRecord): Promise<void> {
		await this.collection.insertOne(record);
	}

	findById(id: string): Promise<PasskeyRecord | null> {
		return this.collection.findOne({ _id: id });
	}

	listOfUser(userId: string): Promise<PasskeyRecord[]> {
		return this.collection.find({ userId }).sort({ createdAt: 1, _id: 1 }).toArray();
	}

	async rename(id: string, userId: string, name: string): Promise<PasskeyRecord | null> {
		const res = await this.collection.findOneAndUpdate(
			{ _id: id, userId },
			{ $set: { name } },
			{ returnOriginal: false }
		);
		return res.value;
	}

	async recordUse(id: string, expected: number, counter: number, now: number): Promise<boolean> {
		const res = await this.collection.findOneAndUpdate(
			{ _id: id, counter: expected, clonedAt: null },
			{ $set: { counter, lastUsedAt: now } }
		);
		return res.value !== null;
	}

	async markCloned(id: string, now: number): Promise<void> {
		await this.collection.updateOne({ _id: id, clonedAt: null }, { $set: { clonedAt: now } });
	}

	async remove(id: string, userId: string): Promise<boolean> {
		return ((await this.collection.deleteMany({ _id: id, userId })).deletedCount ?? 0) === 1;
	}

	async removeAllOfUser(userId: string): Promise<number> {
		return (await this.collection.deleteMany({ userId })).deletedCount ?? 0;
	}
}
