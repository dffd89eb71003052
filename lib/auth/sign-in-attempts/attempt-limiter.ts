/**
 * A sliding-window limiter of attempts per key (a login name, an e-mail address, a client address):
 * at most `maxAttempts` within any `windowMs`. It keeps the times of the attempts inside the window,
 * so it never lets a burst through at a window boundary as a fixed window would.
 *
 * An attempt is counted when it starts (`hit`), not when it has failed: otherwise a hundred
 * concurrent guesses would all pass the check before the first one was recorded. A caller that
 * succeeds calls `reset`.
 *
 * State lives in this process's memory: each node limits on its own, and a restart forgets. On
 * PostgreSQL the auth service uses the shared limiter of lib/auth/sign-in-attempts/postgres-attempt-log instead;
 * both are an `AttemptCounter`, and callers await either.
 */
export interface AttemptLimiterOptions {
	maxAttempts: number;
	windowMs: number;
	/** Epoch milliseconds; injectable for tests. */
	now?: () => number;
	/**
	 * Keys kept at most, which bounds memory under a flood of keys. Beyond it, a new key is
	 * counted in one overflow entry shared by every such key: a key is never evicted, since
	 * evicting would hand a refused key (an attacker cycling through addresses) a fresh budget.
	 */
	maxKeys?: number;
}

export interface AttemptResult {
	allowed: boolean;
	/** Milliseconds until an attempt would be allowed again; 0 when allowed. */
	retryAfterMs: number;
}

/** What the auth service needs of a limiter, in memory or shared through the store. */
export interface AttemptCounter {
	hit(key: string): AttemptResult | Promise<AttemptResult>;
	remaining(key: string): number | Promise<number>;
	reset(key: string): void | Promise<void>;
	prune(): number | Promise<number>;
}

/** Where keys beyond `maxKeys` are counted together (no caller's key contains a NUL). */
const OVERFLOW_KEY = "\u0000overflow";

export class AttemptLimiter implements AttemptCounter {
	readonly maxAttempts: number;
	readonly windowMs: number;
	private readonly now: () => number;
	private readonly maxKeys: number;
	/** Attempt times per key, oldest first; Map order is least recently used first. */
	private readonly attempts = new Map<string, number[]>();

	constructor(options: AttemptLimiterOptions) {
		if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
			throw new Error("AttemptLimiter: maxAttempts must be a positive whole number");
		}
		if (!(options.windowMs > 0)) throw new Error("AttemptLimiter: windowMs must be positive");
		this.maxAttempts = options.maxAttempts;
		this.windowMs = options.windowMs;
		this.now = options.now ?? (() => Date.now());
		this.maxKeys = options.maxKeys ?? 100_000;
	}

	/** Counts an attempt for `key` if the key is under its limit; says whether it was allowed. */
	hit(requested: string): AttemptResult {
		const key = this.keyFor(requested);
		const now = this.now();
		const times = this.live(key, now);
		if (times.length >= this.maxAttempts) {
			this.store(key, times);
			return { allowed: false, retryAfterMs: times[0] + this.windowMs - now };
		}
		times.push(now);
		this.store(key, times);
		return { allowed: true, retryAfterMs: 0 };
	}

	/** Attempts left for `key` in the current window, without counting one. */
	remaining(key: string): number {
		return Math.max(0, this.maxAttempts - this.live(this.keyFor(key), this.now()).length);
	}

	/** Forgets `key`'s attempts (after a success). */
	reset(key: string): void {
		this.attempts.delete(key);
	}

	/** Drops keys whose attempts have all left the window; returns how many were dropped. */
	prune(): number {
		const since = this.now() - this.windowMs;
		let dropped = 0;
		for (const [key, times] of this.attempts) {
			if (times[times.length - 1] <= since) {
				this.attempts.delete(key);
				dropped++;
			}
		}
		return dropped;
	}

	get size(): number {
		return this.attempts.size;
	}

	/** The key itself while it is known or there is room; else the shared overflow entry. */
	private keyFor(key: string): string {
		if (this.attempts.has(key) || this.attempts.size < this.maxKeys) return key;
		return OVERFLOW_KEY;
	}

	private live(key: string, now: number): number[] {
		const times = this.attempts.get(key);
		if (!times) return [];
		const since = now - this.windowMs;
		let first = 0;
		while (first < times.length && times[first] <= since) first++;
		return first === 0 ? times : times.slice(first);
	}

	private store(key: string, times: number[]): void {
		// Delete first so the key moves to the end: most recently used.
		this.attempts.delete(key);
		if (times.length === 0) return;
		this.attempts.set(key, times);
	}
}
