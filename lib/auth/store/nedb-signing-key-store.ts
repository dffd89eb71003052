import type Datastore from "@seald-io/nedb";
import type { SigningKeyRecord } from "../signing-keys";
import type { SigningKeyStore } from "./signing-key-store";

export class NedbSigningKeyStore implements SigningKeyStore {
	constructor(private readonly db: Datastore<SigningKeyRecord>) {}

	async ensureIndexes(): Promise<void> {}

	async insert(record: SigningKeyRecord): Promise<void> {
		await this.db.insertAsync(record);
	}

	async list(): Promise<SigningKeyRecord[]> {
		return (await this.db.findAsync({})) as SigningKeyRecord[];
	}

	remove(ids: string[]): Promise<number> {
		return this.db.removeAsync({ _id: { $in: ids } }, { multi: true });
	}
}
