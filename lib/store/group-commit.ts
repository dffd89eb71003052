/**
 * Group commit: items added while a write is in flight are written together by the next one, so
 * concurrent callers share one storage round trip (for NeDB, one append to the data file) instead of
 * queueing one each. Every caller's promise settles when the write holding its item does.
 */
export class GroupCommit<T> {
	private pending: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
	private writing = false;

	constructor(
		private readonly write: (items: T[]) => Promise<void>,
		private readonly maxBatch = 1000
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
				for (const p of batch) p.reject(err);
			}
		}
		this.writing = false;
	}
}
