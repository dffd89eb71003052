/**
 * The audit trail's store (lib/audit/chain for the entries): appends in batches, reads newest
 * first for people, walks each chain in order for verification, and removes a chain's oldest
 * entries behind a checkpoint. One adapter per store: nedb-, postgres- and mongo-audit-store.ts.
 */
import type { AuditCheckpoint, AuditEntry, ChainHead } from "../chain";

export interface AuditQuery {
	subject?: string;
	type?: string;
	/** Epoch ms, inclusive. */
	since?: number;
	/** Epoch ms, exclusive. */
	until?: number;
	/** Entries older than this one (the last of the previous page). */
	before?: { at: number; id: string };
	limit: number;
}

export interface AuditStore {
	ensureIndexes(): Promise<void>;
	append(entries: AuditEntry[]): Promise<void>;
	/** A chain's last entry, or null. */
	head(chain: string): Promise<ChainHead | null>;
	/** Newest first. */
	list(query: AuditQuery): Promise<AuditEntry[]>;
	chains(): Promise<string[]>;
	/** Up to `limit` entries of a chain after `afterSeq`, in seq order. */
	walk(chain: string, afterSeq: number, limit: number): Promise<AuditEntry[]>;
	checkpoint(chain: string): Promise<AuditCheckpoint | null>;
	/** For each chain, the last entry before `cutoff` (what retention removes through). */
	lastBefore(cutoff: number): Promise<{ chain: string; seq: number; mac: string }[]>;
	/** Keeps the checkpoint, then removes the chain's entries up to its seq. */
	removeThrough(checkpoint: AuditCheckpoint): Promise<number>;
}

/** Walks a whole chain as an async iterable, a page at a time. */
export async function* walkChain(
	store: AuditStore,
	chain: string,
	afterSeq: number,
	page = 1000
): AsyncIterable<AuditEntry> {
	let after = afterSeq;
	for (;;) {
		const batch = await store.walk(chain, after, page);
		yield* batch;
		if (batch.length < page) return;
		after = batch[batch.length - 1].seq;
	}
}

/**
 * A query as a MongoDB-style filter (NeDB and MongoDB read the same syntax): entries only (not the
 * checkpoints kept beside them), newest-first paging by (at, chain, seq).
 */
export function entryFilter(q: AuditQuery): Record<string, unknown> {
	const at: Record<string, number> = {};
	if (q.since !== undefined) at.$gte = q.since;
	if (q.until !== undefined) at.$lt = q.until;
	const filter: Record<string, unknown> = { kind: { $exists: false } };
	if (q.subject !== undefined) filter.subject = q.subject;
	if (q.type !== undefined) filter.type = q.type;
	if (Object.keys(at).length > 0) filter.at = at;
	if (q.before) {
		const { at: t } = q.before;
		const [chain, seq] = splitEntryId(q.before.id);
		filter.$or = [
			{ at: { ...at, $lt: t } },
			{ at: t, chain: { $lt: chain } },
			{ at: t, chain, seq: { $lt: seq } }
		];
	}
	return filter;
}

/** Newest first, ties in chain order: what `before` pages through. */
export const NEWEST_FIRST = { at: -1, chain: -1, seq: -1 } as const;

/** `<chain>:<seq>`, the chain possibly holding colons. */
export function splitEntryId(id: string): [string, number] {
	const at = id.lastIndexOf(":");
	return [id.slice(0, at), Number(id.slice(at + 1))];
}
