/**
 * At most `concurrency` password hashes at once, at most `queue` more waiting; beyond that a
 * caller is refused at once (HashGateFullError) instead of waiting.
 *
 * scrypt runs on libuv's thread pool, which the embedded store's file writes share: unbounded, a few
 * dozen wrong sign-ins a second fill the pool and every store write and token check behind them
 * waits seconds. Refusing early keeps the rest of the node's latency.
 */
export class HashGateFullError extends Error {
	constructor(readonly retryAfterSeconds: number) {
		super("Too many password checks at once");
		this.name = "HashGateFullError";
	}
}

export interface HashGateOptions {
	concurrency: number;
	queue: number;
	/** What a refused caller is told to wait, in seconds. */
	retryAfterSeconds?: number;
}

export class HashGate {
	private running = 0;
	private readonly waiting: (() => void)[] = [];

	constructor(private readonly options: HashGateOptions) {
		if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
			throw new Error("HashGate: concurrency must be a positive whole number");
		}
		if (!Number.isInteger(options.queue) || options.queue < 0) {
			throw new Error("HashGate: queue must be a whole number");
		}
	}

	/** Hashes running and waiting now. */
	get load(): { running: number; waiting: number } {
		return { running: this.running, waiting: this.waiting.length };
	}

	async run<T>(task: () => Promise<T>): Promise<T> {
		if (this.running >= this.options.concurrency) {
			if (this.waiting.length >= this.options.queue) {
				throw new HashGateFullError(this.options.retryAfterSeconds ?? 1);
			}
			await new Promise<void>(resolve => this.waiting.push(resolve));
		} else {
			this.running++;
		}
		try {
			return await task();
		} finally {
			// The slot passes straight to the next waiter, so `running` never dips and rises again.
			const next = this.waiting.shift();
			if (next) next();
			else this.running--;
		}
	}
}
