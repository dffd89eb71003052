/**
 * Collects "this token was used" marks and writes them together, at most once per `flushMs`: one
 * multi-document update instead of a write per check. A mark may be lost if the node dies before the
 * flush; "last used" is bookkeeping, already allowed to be stale by the touch interval.
 */
export class TouchBuffer {
	/** Pending marks: id → time of the first use since the last flush. */
	private marks = new Map<string, number>();
	/** Marks being written: still "pending" for readers, or they would mark the same tokens again. */
	private writing = new Map<string, number>();
	private timer: NodeJS.Timeout | undefined;
	/** The writes started so far, one after another: a flush resolves once all of them are done. */
	private written: Promise<void> = Promise.resolve();

	constructor(
		private readonly write: (ids: string[]) => Promise<void>,
		private readonly flushMs: number,
		private readonly onError: (err: unknown) => void
	) {}

	add(id: string, at: number): void {
		if (!this.marks.has(id)) this.marks.set(id, at);
		this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
		// Never what keeps a stopping process alive: stopping flushes.
		this.timer.unref?.();
	}

	/** When the token was marked used, if that mark is not written yet. */
	pending(id: string): number | undefined {
		return this.marks.get(id) ?? this.writing.get(id);
	}

	get size(): number {
		return this.marks.size;
	}

	/**
	 * Writes the pending marks. Resolves when they and every earlier write are done, so a service
	 * stopping (which flushes) never leaves a timer's write running behind it.
	 */
	flush(): Promise<void> {
		clearTimeout(this.timer);
		this.timer = undefined;
		if (this.marks.size === 0) return this.written;
		const batch = this.marks;
		this.marks = new Map();
		for (const [id, at] of batch) this.writing.set(id, at);
		this.written = this.written.then(() => this.writeBatch(batch));
		return this.written;
	}

	private async writeBatch(batch: Map<string, number>): Promise<void> {
		try {
			await this.write([...batch.keys()]);
		} catch (err) {
			this.onError(err);
		} finally {
			for (const id of batch.keys()) this.writing.delete(id);
		}
	}
}
