/**
 * The auth stores' compare-and-sets in the query language NeDB and MongoDB share: each is a filter
 * that matches only the record as expected, and the update applied to it. PostgreSQL says the same
 * in one conditional UPDATE each.
 */
import type { NextRefreshToken, Rotation } from "./refresh-family-store";
import type { PasswordHashChange } from "./user-store";

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
