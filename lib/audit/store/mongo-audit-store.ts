import type { MongoCollection } from "../../store/mongo/collection";
import type { AuditCheckpoint, AuditEntry, ChainHead } from "../chain";
import { entryFilter, NEWEST_FIRST, type AuditQuery, type AuditStore } from "./audit-store";

type CheckpointDoc = AuditCheckpoint & { _id: string; kind: "checkpoint" };
type Doc = AuditEntry | CheckpointDoc;
const ENTRIES = { kind: { $exists: false } };

/**
 * MongoDB: entries and checkpoints (`checkpoint:<chain>`, `kind: "checkpoint"`) in one
 * collection. Typed, not run here (no MongoDB on CI).
 */
export class MongoAuditStore implements AuditStore {
	private readonly entries: MongoCollection<AuditEntry>;
	private readonly checkpoints: MongoCollection<CheckpointDoc>;

	constructor(collection: MongoCollection<Doc>) {
		this.entries = collection as MongoCollection<AuditEntry>;
		this.checkpoints = collection as MongoCollection<CheckpointDoc>;
	}

	async ensureIndexes(): Promise<void> {
		await this.entries.createIndex({ chain: 1, seq: 1 }, { unique: true });
		await this.entries.createIndex({ at: -1, chain: -1, seq: -1 });
		await this.entries.createIndex({ subject: 1, at: -1 });
	}

	async append(entries: AuditEntry[]): Promise<void> {
		for (const e of entries) await this.entries.insertOne(e);
	}

	async head(chain: string): Promise<ChainHead | null> {
		const [last] = await this.entries
			.find({ chain, ...ENTRIES })
			.sort({ seq: -1 })
			.limit(1)
			.toArray();
		return last ? { seq: last.seq, mac: last.mac } : null;
	}

	list(q: AuditQuery): Promise<AuditEntry[]> {
		const filter = entryFilter(q);
		return this.entries.find(filter).sort(NEWEST_FIRST).limit(q.limit).toArray();
	}

	async chains(): Promise<string[]> {
		const rows = await this.entries
			.aggregate<{ _id: string }>([
				{ $match: ENTRIES },
				{ $group: { _id: "$chain" } },
				{ $sort: { _id: 1 } }
			])
			.toArray();
		return rows.map(r => r._id);
	}

	walk(chain: string, afterSeq: number, limit: number): Promise<AuditEntry[]> {
		return this.entries
			.find({ chain, ...ENTRIES, seq: { $gt: afterSeq } })
			.sort({ seq: 1 })
			.limit(limit)
			.toArray();
	}

	async checkpoint(chain: string): Promise<AuditCheckpoint | null> {
		const doc = await this.checkpoints.findOne({ _id: `checkpoint:${chain}` });
		return doc && { chain: doc.chain, seq: doc.seq, mac: doc.mac, at: doc.at, seal: doc.seal };
	}

	async lastBefore(cutoff: number): Promise<{ chain: string; seq: number; mac: string }[]> {
		const rows = await this.entries
			.aggregate<{ _id: string; seq: number; mac: string }>([
				{ $match: { ...ENTRIES, at: { $lt: cutoff } } },
				{ $sort: { seq: -1 } },
				{ $group: { _id: "$chain", seq: { $first: "$seq" }, mac: { $first: "$mac" } } }
			])
			.toArray();
		return rows.map(r => ({ chain: r._id, seq: r.seq, mac: r.mac }));
	}

	async removeThrough(checkpoint: AuditCheckpoint): Promise<number> {
		await this.checkpoints.findOneAndUpdate(
			{ _id: `checkpoint:${checkpoint.chain}` },
			{ $set: { ...checkpoint, kind: "checkpoint" } },
			{ upsert: true }
		);
		const res = await this.entries.deleteMany({
			chain: checkpoint.chain,
			...ENTRIES,
			seq: { $lte: checkpoint.seq }
		});
		return res.deletedCount ?? 0;
	}
}
