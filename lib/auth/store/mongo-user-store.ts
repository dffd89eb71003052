import type { MongoCollection } from "../../store/mongo/collection";
import { DuplicateUserError } from "./user-store";
import type {
	PasswordHashChange,
	UserChanges,
	UserRecord,
	UserSearch,
	UserStore
} from "./user-store";
import * as query from "./auth-mongo-queries";

/** MongoDB's duplicate-key error code. */
const DUPLICATE_KEY = 11000;

/** MongoDB: unique indexes on the lower-case keys; single-document updates are atomic. */
export class MongoUserStore implements UserStore {
	constructor(private readonly collection: MongoCollection<UserRecord>) {}

	async ensureIndexes(): Promise<void> {
		await this.collection.createIndex({ usernameKey: 1 }, { unique: true });
		await this.collection.createIndex({ emailKey: 1 }, { unique: true });
	}

	async insert(record: UserRecord): Promise<void> {
		try {
			await this.collection.insertOne(record);
		} catch (err) {
			if ((err as { code?: number }).code === DUPLICATE_KEY) throw new DuplicateUserError();
			throw err;
		}
	}

	findById(id: string): Promise<UserRecord | null> {
		return this.collection.findOne({ _id: id });
	}

	findByUsernameKey(usernameKey: string): Promise<UserRecord | null> {
		return this.collection.findOne({ usernameKey });
	}

	findByEmailKey(emailKey: string): Promise<UserRecord | null> {
		return this.collection.findOne({ emailKey });
	}

	async update(id: string, changes: UserChanges, now: number): Promise<UserRecord | null> {
		const res = await this.collection.findOneAndUpdate(
			{ _id: id },
			{ $set: { ...changes, updatedAt: now } },
			{ returnOriginal: false }
		);
		return res.value;
	}

	async replacePasswordHash(id: string, change: PasswordHashChange): Promise<boolean> {
		const { filter, update } = query.passwordHash(id, change);
		return (await this.collection.findOneAndUpdate(filter, update)).value !== null;
	}

	async advanceTotpStep(id: string, step: number): Promise<boolean> {
		const res = await this.collection.findOneAndUpdate(
			query.totpStep(id, step),
			{ $set: { totpLastStep: step } },
			{ returnOriginal: false }
		);
		return res.value !== null;
	}

	async spendRecoveryCode(id: string, hash: string): Promise<boolean> {
		const res = await this.collection.findOneAndUpdate(
			{ _id: id, recoveryCodes: hash },
			{ $pull: { recoveryCodes: hash } },
			{ returnOriginal: false }
		);
		return res.value !== null;
	}

	async remove(id: string): Promise<boolean> {
		return (await this.collection.findOneAndDelete({ _id: id })).value !== null;
	}

	findUnconfirmedBefore(cutoff: number, limit: number): Promise<UserRecord[]> {
		return this.collection
			.find({ emailVerified: false, createdAt: { $lt: cutoff } })
			.limit(limit)
			.toArray();
	}

	async recordSignIn(id: string, at: number): Promise<void> {
		await this.collection.updateOne({ _id: id }, { $set: { lastSignInAt: at } });
	}

	search(search: UserSearch): Promise<UserRecord[]> {
		return this.collection
			.find(query.userSearch(search))
			.sort({ usernameKey: 1 })
			.limit(search.limit)
			.toArray();
	}

	listEmails(): Promise<{ _id: string; email: string }[]> {
		return this.collection.find({}).project({ _id: 1, email: 1 }).toArray();
	}
}
