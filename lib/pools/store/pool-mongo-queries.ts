/**
 * The pool store's queries in the language NeDB and MongoDB share. Both stores run these, so a
 * token is available, leased or renewable by one definition (PostgreSQL says the same in SQL).
 */
type Query = Record<string, unknown>;

/** Not expired at `now`: no expiry, or a later one. */
const unexpired = (now: number): Query => ({
	$or: [{ expiresAt: null }, { expiresAt: { $gt: now } }]
});

/** A pool's token by any of its candidate hashes. */
export function token(pool: string, hashes: string[]): Query {
	return { kind: "token", pool, hash: hashes.length === 1 ? hashes[0] : { $in: hashes } };
}

/** Live tokens of `pool` that nobody holds, or whose lease has run out. */
export function available(pool: string, now: number): Query {
	return {
		kind: "token",
		pool,
		$and: [unexpired(now), { $or: [{ holder: null }, { leaseExpiresAt: { $lte: now } }] }]
	};
}

/** A leased token (by `holder`, if given) whose lease is still running at `now`. */
export function leased(id: string, holder: string | undefined, now: number): Query {
	return {
		_id: id,
		kind: "token",
		holder: holder ?? { $ne: null },
		leaseExpiresAt: { $gt: now }
	};
}

/** A leased token that can still be kept alive: its lease and the token itself unexpired. */
export function renewable(id: string, holder: string | undefined, now: number): Query {
	return { ...leased(id, holder, now), ...unexpired(now) };
}

/** A pool's expired tokens. */
export function expired(pool: string, now: number): Query {
	return { kind: "token", pool, expiresAt: { $lte: now } };
}

/** A pool's tokens, and the fields `counts` reads of each. */
export const tokensOf = (pool: string): Query => ({ kind: "token", pool });
export const COUNTED_FIELDS = { expiresAt: 1, holder: 1, leaseExpiresAt: 1, _id: 0 } as const;
