/**
 * What the `pools` service (leased token pools) needs from its storage: one implementation per
 * moleculer-db adapter. Pool settings and pool tokens share one collection, told apart by `kind`.
 *
 * A token is available when it is live (not past `expiresAt`) and nobody holds it, or its holder's
 * lease has run out: leases expire by themselves, without a job, because every assignment query
 * treats an expired lease as free. Each operation that changes a holder is one atomic conditional
 * write (NeDB's serial executor and its affected-document count; MongoDB's findOneAndUpdate).
 */
export interface PoolConfigRecord {
	/** `config:<pool>` */
	_id: string;
	kind: "config";
	pool: string;
	/** Most tokens the pool may hold. */
	size: number;
	/** Seconds a lease lasts unless it is kept alive. */
	leaseTime: number;
	/** Seconds a token lives after it is generated; null: until deleted. */
	tokenTtl: number | null;
	updatedAt: number;
}

export interface PoolTokenRecord {
	_id: string;
	kind: "token";
	pool: string;
	/**
	 * Slot number in [0, size) when generated, and `<pool>#<slot>` under a unique index: however
	 * many nodes generate at once, a pool never gets more tokens than it has slots.
	 */
	slot: number;
	slotKey: string;
	/** HMAC-SHA256(TOKEN_SALT, token), base64url, for lookups. */
	hash: string;
	/** The token itself, sealed (lib/common/sealed-box): it is handed out again on every assignment. */
	sealed: string;
	createdAt: number;
	expiresAt: number | null;
	/** Client holding the token; meaningful only while `leaseExpiresAt` is in the future. */
	holder: string | null;
	leaseExpiresAt: number | null;
	assignedAt: number | null;
}

/** A document of the pools collection (NeDB, MongoDB): a pool's settings or one of its tokens. */
export type PoolDocument = PoolConfigRecord | PoolTokenRecord;

export interface PoolCounts {
	/** Live tokens in the pool. */
	tokens: number;
	available: number;
	assigned: number;
}

/** A lease of a pool token to `holder`, made at `now`, running until `leaseExpiresAt`. */
export interface Lease {
	holder: string;
	now: number;
	leaseExpiresAt: number;
}

/** A lease extended at `now` (of `holder` only, when given) until `leaseExpiresAt`. */
export type LeaseRenewal = Omit<Lease, "holder"> & { holder: string | undefined };

export interface PoolStore {
	ensureIndexes(): Promise<void>;
	getConfig(pool: string): Promise<PoolConfigRecord | null>;
	saveConfig(config: PoolConfigRecord): Promise<PoolConfigRecord>;
	/** Slots taken by the pool's tokens (live or not yet purged). */
	usedSlots(pool: string): Promise<number[]>;
	/** Inserts the token; false when its slot was taken meanwhile (unique slotKey). */
	insertToken(record: PoolTokenRecord): Promise<boolean>;
	findToken(pool: string, hashes: string[]): Promise<PoolTokenRecord | null>;
	/** Hands one available token to `holder` until `leaseExpiresAt`, least recently assigned first. */
	assign(pool: string, lease: Lease): Promise<PoolTokenRecord | null>;
	/**
	 * Extends a running lease of the live token (of `holder` only, when given: without, whoever
	 * presents the token holds it); the updated record, else null.
	 */
	keepAlive(id: string, lease: LeaseRenewal): Promise<PoolTokenRecord | null>;
	/** Ends a running lease (of `holder` only, when given); true when one was ended. */
	release(id: string, now: number, holder?: string): Promise<boolean>;
	removeToken(id: string): Promise<boolean>;
	/** Removes the pool's tokens that expired at or before `now`; returns how many. */
	removeExpired(pool: string, now: number): Promise<number>;
	counts(pool: string, now: number): Promise<PoolCounts>;
}

export function configId(pool: string): string {
	return `config:${pool}`;
}

export function slotKeyOf(pool: string, slot: number): string {
	return `${pool}#${slot}`;
}

export function isTokenExpired(record: Pick<PoolTokenRecord, "expiresAt">, now: number): boolean {
	return record.expiresAt !== null && record.expiresAt <= now;
}

export function isLeased(
	record: Pick<PoolTokenRecord, "holder" | "leaseExpiresAt">,
	now: number
): boolean {
	return record.holder !== null && record.leaseExpiresAt !== null && record.leaseExpiresAt > now;
}

/** Counts from the pool's tokens (both stores read the few fields and count here). */
export function countTokens(
	records: Pick<PoolTokenRecord, "expiresAt" | "holder" | "leaseExpiresAt">[],
	now: number
): PoolCounts {
	const counts: PoolCounts = { tokens: 0, available: 0, assigned: 0 };
	for (const r of records) {
		if (isTokenExpired(r, now)) continue;
		counts.tokens++;
		if (isLeased(r, now)) counts.assigned++;
		else counts.available++;
	}
	return counts;
}
