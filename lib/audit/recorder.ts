/**
 * Appends this node's audit entries to its chain (lib/audit/chain): sealed at once, in order,
 * written in batches (every FLUSH_MS, or at BATCH entries) so recording never waits for the store
 * on the request's path. A crash loses at most what FLUSH_MS buffered (the chain then ends there:
 * nothing after it was written, so it still verifies). A failed write keeps the batch and retries;
 * past MAX_BUFFERED entries the oldest unsent are dropped and counted, so an outage cannot grow the
 * node without bound (the chain then shows the gap as removed entries, which is what happened).
 * `recordNow` (admin actions) waits until its entry is written.
 */
import { sealEntry, type AuditEntry, type AuditFields, type ChainHead } from "./chain";
import type { AuditStore } from "./store/audit-store";

export const FLUSH_MS = 200;
export const BATCH = 500;
export const MAX_BUFFERED = 50_000;

export class AuditRecorder {
	private head: ChainHead | null = null;
	private buffer: AuditEntry[] = [];
	private timer: NodeJS.Timeout | null = null;
	private writing: Promise<void> = Promise.resolve();
	private queued = false;
	private closed = false;
	dropped = 0;

	constructor(
		private readonly store: AuditStore,
		private readonly key: Buffer,
		readonly chain: string,
		private readonly onError: (err: unknown) => void
	) {}

	/** Picks the chain up where the store has it (a restarted node goes on with its chain). */
	async start(): Promise<void> {
		this.head = await this.store.head(this.chain);
	}

	record(fields: AuditFields): AuditEntry {
		const entry = sealEntry(this.key, this.chain, this.head, fields);
		this.head = { seq: entry.seq, mac: entry.mac };
		this.buffer.push(entry);
		if (this.buffer.length > MAX_BUFFERED) {
			this.dropped += this.buffer.length - MAX_BUFFERED;
			this.buffer.splice(0, this.buffer.length - MAX_BUFFERED);
		}
		if (this.buffer.length >= BATCH) void this.flush();
		else this.schedule(FLUSH_MS);
		return entry;
	}

	/** Records and waits until the entry is in the store (throws if it cannot be written). */
	async recordNow(fields: AuditFields): Promise<AuditEntry> {
		const entry = this.record(fields);
		await this.flush();
		if (this.buffer.includes(entry)) throw new Error("the audit entry could not be written");
		return entry;
	}

	/** Writes what is buffered, after every earlier write (one write queued at most). */
	flush(): Promise<void> {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		if (!this.queued) {
			this.queued = true;
			this.writing = this.writing.then(() => {
				this.queued = false;
				return this.writeBuffered();
			});
		}
		return this.writing;
	}

	private async writeBuffered(): Promise<void> {
		while (this.buffer.length > 0) {
			const batch = this.buffer.slice(0, BATCH);
			try {
				await this.store.append(batch);
			} catch (err) {
				this.onError(err);
				this.schedule(FLUSH_MS * 5);
				return;
			}
			this.buffer.splice(0, batch.length);
		}
	}

	/** A timer that never keeps the process alive, and none once closed. */
	private schedule(ms: number): void {
		if (this.closed || this.timer) return;
		this.timer = setTimeout(() => void this.flush(), ms);
		this.timer.unref();
	}

	/** Writes what is buffered, once more, and stops retrying (the service stops). */
	async close(): Promise<void> {
		await this.flush();
		this.closed = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
	}

	get pending(): number {
		return this.buffer.length;
	}
}
