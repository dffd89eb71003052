/**
 * Lookups by key, batched: the lookups that arrive within one event-loop turn go to the store as one
 * query (`WHERE hash = ANY($1)`), at most `maxInFlight` queries at a time; lookups arriving
 * meanwhile wait for the next query. A round trip per check would cap checks at the store's
 * statement rate; one per batch lets one query answer hundreds.
 *
 * Never stale: a lookup is sent in a query that starts after the lookup was asked for, so it sees
 * every write that had answered by then (a removed token is refused as soon as the removal answered).
 */
export interface BatchedLookup<V> {
	keys: string[];
	resolve: (value: V | null) => void;
	reject: (err: unknown) => void;
}

export class LookupBatcher<V> {
	private waiting: BatchedLookup<V>[] = [];
	private inFlight = 0;
	private scheduled = false;

	/**
	 * @param query rows for any of `keys`
	 * @param keysOf the keys a row answers (a row answers every lookup that asked for one of them)
	 */
	constructor(
		private readonly query: (keys: string[]) => Promise<V[]>,
		private readonly keysOf: (row: V) => string[],
		private readonly maxInFlight = 4,
		private readonly maxKeys = 1000
	) {}

	get(keys: string[]): Promise<V | null> {
		return new Promise<V | null>((resolve, reject) => {
			this.waiting.push({ keys, resolve, reject });
			this.schedule();
		});
	}

	private schedule(): void {
		if (this.scheduled || this.inFlight >= this.maxInFlight || this.waiting.length === 0)
			return;
		this.scheduled = true;
		setImmediate(() => {
			this.scheduled = false;
			while (this.inFlight < this.maxInFlight && this.waiting.length > 0) this.send();
		});
	}

	private send(): void {
		const batch: BatchedLookup<V>[] = [];
		const keys = new Set<string>();
		while (this.waiting.length > 0 && keys.size < this.maxKeys) {
			const lookup = this.waiting.shift()!;
			batch.push(lookup);
			for (const key of lookup.keys) keys.add(key);
		}
		this.inFlight++;
		this.query([...keys]).then(
			rows => {
				const byKey = new Map<string, V>();
				for (const row of rows) for (const key of this.keysOf(row)) byKey.set(key, row);
				for (const lookup of batch) {
					const key = lookup.keys.find(k => byKey.has(k));
					lookup.resolve(key === undefined ? null : byKey.get(key)!);
				}
				this.done();
			},
			err => {
				for (const lookup of batch) lookup.reject(err);
				this.done();
			}
		);
	}

	private done(): void {
		this.inFlight--;
		this.schedule();
	}
}
