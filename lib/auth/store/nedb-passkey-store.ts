import type Datastore from "@seald-io/nedb";
import type { PasskeyRecord, PasskeyStore } from "./passkey-store";

/** NeDB: its serial executor makes each conditional update atomic. */
export class NedbPasskeyStore implements PasskeyStore {
	constructor(private readonly db: Datastore<PasskeyRecord>) {}

	async ensureIndexes(): Promise<void> {
		await this.db.ensureIndexAsync({ fieldName: "userId" });
	}

	async insert(record: PasskeyRecord): Promise<void> {
		await this.db.insertAsync({ ...record, transports: [...record.transports] });
	}

	findById(id: string): Promise<PasskeyRecord | null> {
		return this.db.findOneAsync({ _id: id });
	}

	listOfUser(userId: string): Promise<PasskeyRecord[]> {
		return this.db.findAsync({ userId }).sort({ createdAt: 1, _id: 1 });
	}

	async rename(id: string, userId: string, name: string): Promise<PasskeyRecord | null> {
		const { affectedDocuments } = await this.db.updateAsync(
			{ _id: id, userId },
			{ $set: { name } },
			{ returnUpdatedDocs: true }
		);
		return (affectedDocuments as PasskeyRecord | null) ?? null;
	}

	async recordUse(id: string, expected: number, counter: number, now: number): Promise<boolean> {
		const { numAffected } = await this.db.updateAsync(
			{ _id: id, counter: expected, clonedAt: null },
			{ $set: { counter, lastUsedAt: now } },
			{}
		);
		return numAffected === 1;
	}

	async markCloned(id: string, now: number): Promise<void> {
		await this.db.updateAsync({ _id: id, clonedAt: null }, { $set: { clonedAt: now } }, {});
	}

	async remove(id: string, userId: string): Promise<boolean> {
		return (await this.db.removeAsync({ _id: id, userId }, {})) === 1;
	}

	removeAllOfUser(userId: string): Promise<number> {
		return this.db.removeAsync({ userId }, { multi: true });
	}
}
