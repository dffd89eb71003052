/**
 * What the `tokens` service needs from its storage. One implementation per moleculer-db adapter
 * (NeDB, MongoDB), so store-specific atomic operations and index creation live in one place each.
 */
export interface TokenRecord {
	_id: string;
	type: string;
	owner: string;
	/** HMAC-SHA256(salt, token), base64url. The plaintext token is never stored. */
	hash: string;
	name: string | null;
	scopes: string[];
	/** Small caller-defined payload (e.g. the action a one-time link calls). */
	data: Record<string, unknown> | null;
	createdAt: number;
	/** Epoch milliseconds, or null for a token that never expires. */
	expiresAt: number | null;
	lastUsedAt: number | null;
}

export interface TokenChanges {
	data?: Record<string, unknown> | null;
	/** Epoch milliseconds. */
	expiresAt?: number;
}

export interface TokenMatch {
	/** Hashes the token may be stored under (one per accepted salt). */
	hashes: string[];
	type: string;
	/** Only a token of this owner matches, when given. */
	owner?: string;
}

export interface TokenStore {
	ensureIndexes(): Promise<void>;
	insert(record: TokenRecord): Promise<void>;
	findByHashes(hashes: string[]): Promise<TokenRecord | null>;
	/** Records a use of each token unless one was recorded at or after `staleBefore`. */
	touch(ids: string[], now: number, staleBefore: number): Promise<void>;
	/** Atomically removes the matching live token and returns it; exactly one caller wins. */
	consume(match: TokenMatch, now: number): Promise<TokenRecord | null>;
	/** Removes the matching token whether or not it expired. */
	remove(match: TokenMatch): Promise<TokenRecord | null>;
	removeById(id: string, owner: string): Promise<TokenRecord | null>;
	/**
	 * Replaces the data and/or the expiry of the token with this id, only if `owner` owns it (e.g.
	 * disabling an API key, or ending a rerolled one after its overlap). The updated record, or null.
	 */
	update(id: string, owner: string, changes: TokenChanges): Promise<TokenRecord | null>;
	listByOwner(owner: string, type?: string): Promise<TokenRecord[]>;
	removeByOwner(owner: string, type?: string): Promise<TokenRecord[]>;
	/** Removes up to `limit` tokens that expired before `now`, returning them. */
	removeExpired(now: number, limit: number): Promise<TokenRecord[]>;
	countByType(now: number): Promise<Record<string, { live: number; expired: number }>>;
}

export function isExpired(record: Pick<TokenRecord, "expiresAt">, now: number): boolean {
	return record.expiresAt !== null && record.expiresAt <= now;
}

export function matches(record: TokenRecord, match: TokenMatch): boolean {
	return (
		record.type === match.type && (match.owner === undefined || record.owner === match.owner)
	);
}
