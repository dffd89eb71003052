/**
 * The auth stores' compare-and-sets in the query language NeDB and MongoDB share: each is a filter
 * that matches only the record as expected, and the update applied to it. PostgreSQL says the same
 * in one conditional UPDATE each.
 */
import type { NextRefreshToken, Rotation } from "./refresh-family-store";
import type { PasswordHashChange, UserSearch } from "./user-store";

type Query = Record<string, unknown>;

/** The family whose live token is still `expected`, and its next token made live. */
export function rotation(id: string, { expected, next, history }: Rotation) {
	return {
		filter: { _id: id, current: expected, revokedAt: null },
		update: rotationUpdate(expected, next, history)
	};
}

function rotationUpdate(expected: string, next: NextRefreshToken, history: number): Query {
	return {
		$set: {
			current: next.fingerprint,
			expiresAt: next.expiresAt,
			previous: expected,
			rotatedAt: next.rotatedAt,
			successor: next.sealed,
			userAgent: next.userAgent,
			clientAddress: next.clientAddress
		},
		$inc: { generation: 1 },
		$push: { fingerprints: { $each: [next.fingerprint], $slice: -history } }
	};
}

/** A revocation: no live token, no successor kept. */
export function revocation(reason: string, now: number): Query {
	return { $set: { current: null, successor: null, revokedAt: now, revokedReason: reason } };
}

/** The user whose password hash is still `expected`, and the new hash. */
export function passwordHash(id: string, { expected, next, now }: PasswordHashChange) {
	return {
		filter: { _id: id, passwordHash: expected },
		update: { $set: { passwordHash: next, updatedAt: now } }
	};
}

/** The user, if `step` is later than the last TOTP step accepted. */
export function totpStep(id: string, step: number): Query {
	return {
		_id: id,
		$or: [
			{ totpLastStep: null },
			{ totpLastStep: { $exists: false } },
			{ totpLastStep: { $lt: step } }
		]
	};
}

/** A RegExp for keys starting with `prefix`, every character taken literally. */
function startsWith(prefix: string): RegExp {
	return new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
}

/** Not locked at `now`: never, unlocked, or the lock's end has passed. */
function unlocked(now: number): Query {
	return {
		$or: [
			{ lockedAt: null },
			{ lockedAt: { $exists: false } },
			{ lockedUntil: { $ne: null, $lte: now } }
		]
	};
}

/** An administrators' search (see UserSearch); sort by usernameKey. */
export function userSearch({ prefix, status, after, now }: UserSearch): Query {
	const all: Query[] = [];
	if (prefix !== undefined && prefix !== "") {
		const pattern = startsWith(prefix);
		all.push({ $or: [{ usernameKey: pattern }, { emailKey: pattern }] });
	}
	if (after !== undefined) all.push({ usernameKey: { $gt: after } });
	if (status === "locked") {
		all.push({ lockedAt: { $ne: null, $exists: true } });
		all.push({
			$or: [
				{ lockedUntil: null },
				{ lockedUntil: { $exists: false } },
				{ lockedUntil: { $gt: now } }
			]
		});
	} else if (status !== undefined) {
		all.push(unlocked(now));
		all.push({ emailVerified: status === "active" });
	}
	return all.length === 0 ? {} : { $and: all };
}
