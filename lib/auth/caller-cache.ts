/**
 * What resolving a caller reads (an API key's token record, its owner, a JWT's session), kept in
 * memory for at most `ttlMs` so the gateway's hot paths cost no store read per request.
 *
 * The terms (docs/api-keys.md, "On several nodes"):
 * - a change made on this node forgets what it changed at once (the stores call `forget`);
 * - every other node forgets it when auth's invalidation broadcast arrives (ids only, never a key);
 * - a node that may have missed a broadcast (its transporter reconnected, a node joined or came
 *   back) forgets everything;
 * - and nothing is kept longer than `ttlMs` (AUTH_CACHE_TTL, 1 s by default) whatever happens: the
 *   backstop, so "within 1 second on every node" holds even for a lost message.
 *
 * Keys are kept under an HMAC with a random per-process secret: never the key itself, and nothing
 * that can be matched against another process's memory or the store.
 */
import { createHmac, randomBytes } from "node:crypto";

interface Entry<V> {
	value: V;
	at: number;
}

/** A read-through map whose entries expire; a load started before a `forget` is not kept. */
export class ExpiringCache<V> {
	private readonly entries = new Map<string, Entry<V>>();
	private readonly loading = new Map<string, { epoch: number; value: Promise<V | null> }>();
	private epoch = 0;

	constructor(
		private readonly ttlMs: number,
		private readonly maxEntries = 10_000,
		private readonly now: () => number = Date.now
	) {}

	/** The kept value, or `load`'s (kept unless null, or unless something was forgotten meanwhile). */
	get(key: string, load: () => Promise<V | null>): V | Promise<V | null> {
		const entry = this.entries.get(key);
		if (entry && this.now() - entry.at < this.ttlMs) return entry.value;
		if (this.ttlMs <= 0) return load();
		const pending = this.loading.get(key);
		if (pending && pending.epoch === this.epoch) return pending.value;
		const epoch = this.epoch;
		const at = this.now();
		const value = load().then(
			loaded => {
				if (this.loading.get(key)?.value === value) this.loading.delete(key);
				if (loaded !== null && this.epoch === epoch) this.keep(key, loaded, at);
				return loaded;
			},
			(err: unknown) => {
				if (this.loading.get(key)?.value === value) this.loading.delete(key);
				throw err;
			}
		);
		this.loading.set(key, { epoch, value });
		return value;
	}

	private keep(key: string, value: V, at: number): void {
		this.entries.delete(key);
		if (this.entries.size >= this.maxEntries) {
			// Maps iterate in insertion order: the first entry is the oldest kept.
			const oldest = this.entries.keys().next().value;
			if (oldest !== undefined) this.entries.delete(oldest);
		}
		this.entries.set(key, { value, at });
	}

	/** Forgets the entries `matches` picks (all without it); loads under way are not kept. */
	forget(matches?: (key: string, value: V) => boolean): void {
		this.epoch++;
		if (!matches) {
			this.entries.clear();
			return;
		}
		for (const [key, entry] of this.entries) {
			if (matches(key, entry.value)) this.entries.delete(key);
		}
	}

	get size(): number {
		return this.entries.size;
	}

	/** The kept values (for tests and the REPL: never holds a key in clear). */
	values(): V[] {
		return [...this.entries.values()].map(e => e.value);
	}

	/** Every name and value kept, as one would see them in a heap dump. */
	dump(): [string, V][] {
		return [...this.entries].map(([name, e]) => [name, e.value]);
	}
}

/** What changed, by id: forgotten from every node's caches (the invalidation broadcast's payload). */
export interface CallerChange {
	/** Users: their record, their sessions and their keys. */
	users?: string[];
	/** Sessions (refresh-token families) by id. */
	sessions?: string[];
	/** API keys by token id. */
	keys?: string[];
	/** Every API key of these owners. */
	keyOwners?: string[];
	/** API-key usage ids whose credits were set anew or removed (lib/auth/api-key-usage). */
	usage?: string[];
}

/** What a cached session needs to answer: whether it still lives, and whose it is. */
export interface CachedSession {
	id: string;
	userId: string;
	revokedAt: number | null;
}

/** A cached API key: its record as `tokens.check` answered, and when it expires (ms; null never). */
export interface CachedKey<K> {
	id: string;
	owner: string;
	expiresAt: number | null;
	entity: K;
}

export class CallerCache<U extends { _id: string }, K> {
	readonly users: ExpiringCache<U>;
	readonly sessions: ExpiringCache<CachedSession>;
	readonly keys: ExpiringCache<CachedKey<K>>;
	private readonly secret = randomBytes(32);

	constructor(ttlMs: number, now: () => number = Date.now) {
		this.users = new ExpiringCache<U>(ttlMs, 10_000, now);
		this.sessions = new ExpiringCache<CachedSession>(ttlMs, 10_000, now);
		this.keys = new ExpiringCache<CachedKey<K>>(ttlMs, 10_000, now);
	}

	/** The name an API key is kept under in this process. */
	keyDigest(key: string): string {
		return createHmac("sha256", this.secret).update(key).digest("base64url");
	}

	forget(change: CallerChange): void {
		const users = new Set(change.users ?? []);
		const sessions = new Set(change.sessions ?? []);
		const keys = new Set(change.keys ?? []);
		const owners = new Set([...users, ...(change.keyOwners ?? [])]);
		if (users.size > 0) this.users.forget(id => users.has(id));
		if (users.size + sessions.size > 0) {
			this.sessions.forget((id, s) => sessions.has(id) || users.has(s.userId));
		}
		if (owners.size + keys.size > 0) {
			this.keys.forget((_, k) => keys.has(k.id) || owners.has(k.owner));
		}
	}

	clear(): void {
		this.users.forget();
		this.sessions.forget();
		this.keys.forget();
	}
}
