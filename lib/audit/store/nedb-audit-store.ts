import type Datastore from "@seald-io/nedb";
import type { AuditCheckpoint, AuditEntry, ChainHead } from "../chain";
import { entryFilter, NEWEST_FIRST, type AuditQuery, type AuditStore } from "./audit-store";

type Doc = AuditEntry | (AuditCheckpoint & { _id: string; kind: "checkpoint" });

function isEntry(doc: Doc): doc is AuditEntry {
	return !("kind" in doc);
}

/** NeDB: entries and checkpoints in one file (checkpoints under `checkpoint:<chain>`). */
export class NedbAuditStore implements AuditStore {
	constructor(private readonly db: Datastore<Doc>) {}

	async ensureIndexes(): Promise<void> {
		await this.db.ensureIndexAsync({ fieldName: "chain" });
		await this.db.ensureIndexAsync({ fieldName: "at" });
		await this.db.ensureIndexAsync({ fieldName: "subject" });
	}

	async append(entries: AuditEntry[]): Promise<void> {
		await this.db.insertAsync(entries.map(e => ({ ...e, data: { ...e.data } })));
	}

	async head(chain: string): Promise<ChainHead | null> {
		const [last] = await this.db
			.findAsync({ chain, kind: { $exists: false } })
			.sort({ seq: -1 })
			.limit(1);
		return last && isEntry(last) ? { seq: last.seq, mac: last.mac } : null;
	}

	async list(q: AuditQuery): Promise<AuditEntry[]> {
		const filter = entryFilter(q);
		const docs = await this.db.findAsync(filter).sort(NEWEST_FIRST).limit(q.limit);
		return docs.filter(isEntry);
	}

	async chains(): Promise<string[]> {
		const docs = await this.db.findAsync({ kind: { $exists: false } }, { chain: 1, _id: 0 });
		return [...new Set(docs.map(d => d.chain))].sort();
	}

	async walk(chain: string, afterSeq: number, limit: number): Promise<AuditEntry[]> {
		const docs = await this.db
			.findAsync({ chain, kind: { $exists: false }, seq: { $gt: afterSeq } })
			.sort({ seq: 1 })
			.limit(limit);
		return docs.filter(isEntry);
	}

	async checkpoint(chain: string): Promise<AuditCheckpoint | null> {
		const doc = await this.db.findOneAsync({ _id: `checkpoint:${chain}` });
		if (!doc || isEntry(doc)) return null;
		const { chain: c, seq, mac, at, seal } = doc;
		return { chain: c, seq, mac, at, seal };
	}

	async lastBefore(cutoff: number): Promise<{ chain: string; seq: number; mac: string }[]> {
		const last = new Map<string, { chain: string; seq: number; mac: string }>();
		for (const doc of await this.db.findAsync({
			kind: { $exists: false },
			at: { $lt: cutoff }
		})) {
			if (!isEntry(doc)) continue;
			const seen = last.get(doc.chain);
			if (!seen || seen.seq < doc.seq)
				last.set(doc.chain, { chain: doc.chain, seq: doc.seq, mac: doc.mac });
		}
		return [...last.values()];
	}

	async removeThrough(checkpoint: AuditCheckpoint): Promise<number> {
		await this.db.updateAsync(
			{ _id: `checkpoint:${checkpoint.chain}` },
			{ _id: `checkpoint:${checkpoint.chain}`, kind: "checkpoint", ...checkpoint },
			{ upsert: true }
		);
		return this.db.removeAsync(
			{ chain: checkpoint.chain, kind: { $exists: false }, seq: { $lte: checkpoint.seq } },
			{ multi: true }
		);
	}
}
