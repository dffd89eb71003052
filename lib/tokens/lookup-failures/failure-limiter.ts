/**
 * A token bucket per key that only failures drain: each key may fail `burst` times in a row, then
 * once every 1/`perSecond` seconds. Successes cost nothing. Keys whose bucket is full again are
 * forgotten, and at most `maxKeys` are kept, so memory stays bounded whatever callers send: beyond
 * that, new keys fail into one overflow bucket they share. No bucket is ever evicted, since that
 * would hand a drained key (an attacker cycling through addresses) a fresh burst. The clock is
 * injectable for tests.
 */
export interface FailureLimit {
	/** Failures allowed in a row. */
	burst: number;
	/** Failures allowed per second after that. */
	perSecond: number;
}

interface Bucket {
	level: number;
	at: number;
}

/** The bucket keys beyond `maxKeys` share (no client key contains a NUL). */
const OVERFLOW_KEY = "\u0000overflow";

export class FailureLimiter {
	private readonly buckets = new Map<string, Bucket>();

	constructor(
		private readonly limit: FailureLimit,
		private readonly maxKeys = 100_000,
		private readonly now: () => number = Date.now
	) {
		if (!(limit.burst >= 1) || !(limit.perSecond > 0)) {
			throw new Error("A failure limit needs burst >= 1 and perSecond > 0");
		}
	}

	/** Seconds until `key` may fail again: 0 while it has failures left. */
	retryAfter(requested: string): number {
		const key = this.keyFor(requested);
		const bucket = this.buckets.get(key);
		if (!bucket) return 0;
		const level = this.refill(key, bucket);
		return level >= 1 ? 0 : Math.ceil((1 - level) / this.limit.perSecond);
	}

	/** Counts one failure of `key`. */
	fail(requested: string): void {
		const key = this.keyFor(requested);
		const bucket = this.buckets.get(key);
		const level = bucket ? this.refill(key, bucket) : this.limit.burst;
		this.buckets.set(key, { level: Math.max(0, level - 1), at: this.now() });
	}

	/** The key itself while it is known or there is room; else the shared overflow bucket. */
	private keyFor(key: string): string {
		if (this.buckets.has(key) || this.buckets.size < this.maxKeys) return key;
		return OVERFLOW_KEY;
	}

	/** Keys currently remembered (for tests and metrics). */
	get size(): number {
		return this.buckets.size;
	}

	private refill(key: string, bucket: Bucket): number {
		const now = this.now();
		const level = Math.min(
			this.limit.burst,
			bucket.level + (Math.max(0, now - bucket.at) / 1000) * this.limit.perSecond
		);
		if (level >= this.limit.burst) {
			this.buckets.delete(key);
		} else {
			bucket.level = level;
			bucket.at = now;
		}
		return level;
	}
}
