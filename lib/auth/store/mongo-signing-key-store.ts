import type { MongoCollection } from "../../store/mongo/collection";
import type { SigningKeyRecord } from "../signing-keys";
import type { SigningKeyStore } from "./signing-key-store";

export class MongoSigningKeyStore implements SigningKeyStore {
	constructor(private readonly collection: MongoCollection<SigningKeyRecord>) {}

	async ensureIndexes(): Promise<void> {}

	async insert(record: SigningKeyRecord): Promise<void> {
		await this.collection.insertOne(record);
	}

	list(): Promise<SigningKeyRecord[]> {
		return this.collection.find({}).toArray();
	}

	async remove(ids: string[]): Promise<number> {
		return (await this.collection.deleteMany({ _id: { $in: ids } })).deletedCount ?? 0;
	}
}
