import type Datastore from "@seald-io/nedb";
import { indexOf, readIndex, useMapForUniqueIndex } from "../../store/nedb/map-index";
import { DuplicateUserError } from "./user-store";
import type * as users from "./user-store";
import * as query from "./auth-mongo-queries";

/** NeDB: unique indexes on the lower-case keys; the serial executor makes each update atomic. */
export class NedbUserStore implements users.UserStore {
	constructor(private readonly db: Datastore<users.UserRecord>) {}

	async ensureIndexes(): Promise<void> {
		// Every gateway request looks its caller up by _id: a Map instead of NeDB's AVL tree.
		useMapForUniqueIndex(indexOf(this.db, "_id"));
		await this.db.ensureIndexAsync({ fieldName: "usernameKey", unique: true });
		await this.db.ensureIndexAsync({ fieldName: "emailKey", unique: true });
	}

	async insert(record: users.UserRecord): Promise<void> {
		try {
			await this.db.insertAsync(record);
		} catch (err) {
			if ((err as { errorType?: string }).errorType === "uniqueViolated") {
				throw new DuplicateUserError();
			}
			throw err;
		}
	}

	/** From the in-memory index (lib/store/nedb/map-index): the gateway's hot path. */
	async findById(id: string): Promise<users.UserRecord | null> {
		const [doc] = readIndex<users.UserRecord>(this.db, "_id", id);
		return doc ? { ...doc, scopes: [...doc.scopes] } : null;
	}

	findByUsernameKey(usernameKey: string): Promise<users.UserRecord | null> {
		return this.db.findOneAsync({ usernameKey }) as Promise<users.UserRecord | null>;
	}

	findByEmailKey(emailKey: string): Promise<users.UserRecord | null> {
		return this.db.findOneAsync({ emailKey }) as Promise<users.UserRecord | null>;
	}

	async update(
		id: string,
		changes: users.UserChanges,
		now: number
	): Promise<users.UserRecord | null> {
		const res = await this.db.updateAsync(
			{ _id: id },
			{ $set: { ...changes, updatedAt: now } },
			{ returnUpdatedDocs: true }
		);
		return res.numAffected === 1 ? (res.affectedDocuments as users.UserRecord) : null;
	}

	async replacePasswordHash(id: string, change: users.PasswordHashChange): Promise<boolean> {
		const { filter, update } = query.passwordHash(id, change);
		return (await this.db.updateAsync(filter, update, {})).numAffected === 1;
	}

	async advanceTotpStep(id: string, step: number): Promise<boolean> {
		const res = await this.db.updateAsync(query.totpStep(id, step), {
			$set: { totpLastStep: step }
		});
		return res.numAffected === 1;
	}

	async spendRecoveryCode(id: string, hash: string): Promise<boolean> {
		const res = await this.db.updateAsync(
			{ _id: id, recoveryCodes: hash },
			{ $pull: { recoveryCodes: hash } }
		);
		return res.numAffected === 1;
	}

	async remove(id: string): Promise<boolean> {
		return (await this.db.removeAsync({ _id: id }, {})) === 1;
	}

	async findUnconfirmedBefore(cutoff: number, limit: number): Promise<users.UserRecord[]> {
		return (await this.db
			.findAsync({ emailVerified: false, createdAt: { $lt: cutoff } })
			.limit(limit)) as users.UserRecord[];
	}

	async recordSignIn(id: string, at: number): Promise<void> {
		await this.db.updateAsync({ _id: id }, { $set: { lastSignInAt: at } });
	}

	async search(search: users.UserSearch): Promise<users.UserRecord[]> {
		return (await this.db
			.findAsync(query.userSearch(search))
			.sort({ usernameKey: 1 })
			.limit(search.limit)) as users.UserRecord[];
	}

	async listEmails(): Promise<{ _id: string; email: string }[]> {
		return (await this.db.findAsync({}, { _id: 1, email: 1 })) as {
			_id: string;
			email: string;
		}[];
	}
}
