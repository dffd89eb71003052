import type Datastore from "@seald-io/nedb";
import { indexOf, readIndex, useMapForUniqueIndex } from "../../store/nedb/map-index";
import type { RefreshFamilyRecord, RefreshFamilyStore, Rotation } from "./refresh-family-store";
import * as query from "./auth-mongo-queries";

/** NeDB: the serial executor makes each conditional update atomic; "one updated" decides. */
export class NedbRefreshFamilyStore implements RefreshFamilyStore {
	constructor(private readonly db: Datastore<RefreshFamilyRecord>) {}

	async ensureIndexes(): Promise<void> {
		// An array field: NeDB indexes each of its elements. A fingerprint belongs to one family
		// (each is a fresh random token's): unique, so a Map can hold it (lib/store/nedb/map-index),
		// where every rotation re-indexed up to `history` entries of an AVL tree.
		await this.db.ensureIndexAsync({ fieldName: "fingerprints", unique: true });
		useMapForUniqueIndex(indexOf(this.db, "fingerprints"));
		await this.db.ensureIndexAsync({ fieldName: "userId" });
		await this.db.ensureIndexAsync({ fieldName: "expiresAt" });
	}

	async insert(record: RefreshFamilyRecord): Promise<void> {
		await this.db.insertAsync(record);
	}

	/** From the in-memory index, as the token and user lookups: no executor queue, cursor or deep copy. */
	async findByFingerprint(fingerprint: string): Promise<RefreshFamilyRecord | null> {
		const [doc] = readIndex<RefreshFamilyRecord>(this.db, "fingerprints", fingerprint);
		return doc ? { ...doc, fingerprints: [...doc.fingerprints] } : null;
	}

	/** From the in-memory `_id` index, as findByFingerprint. */
	async findById(id: string): Promise<RefreshFamilyRecord | null> {
		const [doc] = readIndex<RefreshFamilyRecord>(this.db, "_id", id);
		return doc ? { ...doc, fingerprints: [...doc.fingerprints] } : null;
	}

	async listLiveOfUser(userId: string, now: number): Promise<RefreshFamilyRecord[]> {
		return this.db
			.findAsync({ userId, revokedAt: null, expiresAt: { $gt: now } })
			.sort({ createdAt: 1 });
	}

	async rotate(id: string, rotation: Rotation): Promise<boolean> {
		const { filter, update } = query.rotation(id, rotation);
		return (await this.db.updateAsync(filter, update, {})).numAffected === 1;
	}

	async revoke(id: string, reason: string, now: number): Promise<RefreshFamilyRecord | null> {
		const res = await this.db.updateAsync(
			{ _id: id, revokedAt: null },
			query.revocation(reason, now),
			{ returnUpdatedDocs: true }
		);
		return res.numAffected === 1 ? (res.affectedDocuments as RefreshFamilyRecord) : null;
	}

	async revokeAllOfUser(userId: string, reason: string, now: number): Promise<number> {
		const res = await this.db.updateAsync(
			{ userId, revokedAt: null },
			query.revocation(reason, now),
			{ multi: true }
		);
		return res.numAffected;
	}

	removeExpired(now: number): Promise<number> {
		return this.db.removeAsync({ expiresAt: { $lte: now } }, { multi: true });
	}

	async clearSuccessorsBefore(cutoff: number): Promise<number> {
		const res = await this.db.updateAsync(
			{ successor: { $ne: null, $exists: true }, rotatedAt: { $lt: cutoff } },
			{ $set: { successor: null } },
			{ multi: true }
		);
		return res.numAffected;
	}
}
