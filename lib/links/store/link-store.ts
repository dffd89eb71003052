/**
 * What the `links` service (one-time action links) needs from its storage: one implementation per
 * moleculer-db adapter, each deciding concurrent redeems with a single atomic conditional write.
 */
export interface LinkRecord {
	_id: string;
	/** HMAC-SHA256(TOKEN_SALT, token), base64url. The plaintext token is never stored. */
	hash: string;
	/** Who created the link (passed on to the action as `meta.link.owner`). */
	owner: string;
	/** Full name of the action the link calls; on the allow-list when created and when redeemed. */
	action: string;
	/**
	 * The action's parameters as JSON text, stored as given (they are not secret). Text rather than
	 * a sub-document: NeDB and MongoDB refuse field names such as "$set" or "a.b" inside documents.
	 */
	params: string;
	/** false: the first redeem removes the link; true: usable until `validUntil`, one use per lock. */
	multiUse: boolean;
	/** Seconds during which the link cannot be redeemed again after an access. */
	lockTimeout: number;
	createdAt: number;
	/** Epoch milliseconds; the link is dead from this instant on. */
	validUntil: number;
	/** When the link was last redeemed (null: never). Loading it does not count. */
	lastAccess: number | null;
	/** No redeem succeeds before this instant (null: not locked). */
	lockedUntil: number | null;
	/** How many times it was redeemed (multi-use links). */
	uses: number;
}

export interface LinkStore {
	ensureIndexes(): Promise<void>;
	insert(record: LinkRecord): Promise<void>;
	/** The link stored under any of these hashes (one per accepted salt), expired or not. */
	findByHashes(hashes: string[]): Promise<LinkRecord | null>;
	/**
	 * One-time links: removes the link if it is still live and unlocked at `now`, in one atomic step.
	 * Of any number of concurrent calls exactly one gets true.
	 */
	spend(id: string, now: number): Promise<boolean>;
	/**
	 * Multi-use links: records an access at `now` and locks the link until `lockedUntil`, if it is
	 * still live and unlocked at `now`, in one atomic step. Of any number of concurrent calls within
	 * one lock period exactly one gets the updated record; the others get null.
	 */
	claim(id: string, now: number, lockedUntil: number): Promise<LinkRecord | null>;
	/** Removes the link whether or not it expired; returns it, or null if there was none. */
	removeByHashes(hashes: string[]): Promise<LinkRecord | null>;
	/** Removes up to `limit` links that expired at or before `now`; returns how many. */
	removeExpired(now: number, limit: number): Promise<number>;
	/** Removes every link of `owner` (a deleted account's); returns how many. */
	removeByOwner(owner: string): Promise<number>;
}

export function isLinkExpired(record: Pick<LinkRecord, "validUntil">, now: number): boolean {
	return record.validUntil <= now;
}

export function isLinkLocked(record: Pick<LinkRecord, "lockedUntil">, now: number): boolean {
	return record.lockedUntil !== null && record.lockedUntil > now;
}

/** Store query (same syntax in NeDB and MongoDB) for "this link is live and unlocked at `now`". */
export function redeemableFilter(id: string, now: number): Record<string, unknown> {
	return {
		_id: id,
		validUntil: { $gt: now },
		$or: [{ lockedUntil: null }, { lockedUntil: { $lte: now } }]
	};
}
