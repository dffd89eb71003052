/**
 * Group commit: items added while a write is in flight are written together by the next one, so
 * concurrent callers share one storage round trip (for NeDB, one append to the data file) instead of
 * queueing one each. Every caller's promise settles when the write holding its item does.
 *
 * A batch write is all or nothing, so one item the store refuses would fail every caller in its
 * batch. When `retryAlone(err)` says the failure may be one item's (the store refused data, not
 * "the store is down"), each item of the batch is written again on its own: only its own caller
 * sees the refusal.
 */
type Pending<T> = { item: T; resolve: () => void; reject: (err: unknown) => void };

export class GroupCommit<T> {
	private pending: Pending<T>[] = [];
	private writing = false;

	constructor(
		private readonly write: (items: T[]) => Promise<void>,
		private readonly maxBatch = 1000,
		private readonly retryAlone: (err: unknown) => boolean = () => false
	) {}

	add(item: T): Promise<void> {
		return new Promise<void>((resolve, reject) => {
			this.pending.push({ item, resolve, reject });
			if (!this.writing) void this.flush();
		});
	}

	private async flush(): Promise<void> {
		this.writing = true;
		while (this.pending.length > 0) {
			const batch = this.pending.splice(0, this.maxBatch);
			try {
				await this.write(batch.map(p => p.item));
				for (const p of batch) p.resolve();
			} catch (err) {
				if (batch.length > 1 && this.retryAlone(err)) await this.writeEach(batch);
				else for (const p of batch) p.reject(err);
			}
		}
		this.writing = false;
	}

	private async writeEach(batch: Pending<T>[]): Promise<void> {
		for (const p of batch) {
			try {
				await this.write([p.item]);
				p.resolve();
			} catch (err) {
				p.reject(err);
			}
		}
	}
}
