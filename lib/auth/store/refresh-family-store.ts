/**
 * Refresh-token families, for rotation with reuse detection (RFC 9700 §4.14.2).
 *
 * A sign-in starts a family; every refresh spends the family's live token and issues the next one.
 * The tokens service keeps only live tokens, so a family remembers the fingerprints (SHA-256) of
 * its recent tokens: a token that is no longer live but whose fingerprint is here was rotated away
 * and is being replayed, and the whole family is revoked. A fingerprint is no secret: a token is
 * 178 random bits, so its SHA-256 can neither be reversed nor guessed.
 */
import { createHash } from "node:crypto";

export interface RefreshFamilyRecord {
	/** The family id, also in each of its tokens' `data.family`. */
	_id: string;
	userId: string;
	/** Fingerprint of the live token; null once the family is revoked. */
	current: string | null;
	/** Fingerprints of the family's latest tokens, oldest first, the live one last (capped). */
	fingerprints: string[];
	/** 1 for the sign-in's token, +1 per rotation. */
	generation: number;
	createdAt: number;
	/** When the live token expires (epoch ms); the record may be deleted after that. */
	expiresAt: number;
	revokedAt: number | null;
	revokedReason: string | null;
	/**
	 * The reuse interval (REFRESH_REUSE_INTERVAL): the fingerprint of the live token's immediate
	 * parent, when it was rotated, and the live token sealed (AES-256-GCM, lib/common/sealed-box) so
	 * that a concurrent refresh of the parent within the interval gets the same successor. Absent
	 * (null or missing) before the first rotation, and cleared once the interval is over.
	 */
	previous?: string | null;
	rotatedAt?: number | null;
	successor?: string | null;
	/** Shown in the user's sessions list: the last sign-in or refresh's User-Agent and network. */
	userAgent?: string | null;
	clientAddress?: string | null;
	/**
	 * A service-API session (auth.issueTokens): the scopes its access tokens carry. Absent for a
	 * user's session, whose access tokens get the user's scopes when they are resolved.
	 */
	scopes?: string[] | null;
}

/** What a new session's family holds: its first token, nothing rotated or revoked yet. */
export function newFamilyRecord(first: {
	id: string;
	userId: string;
	fingerprint: string;
	createdAt: number;
	expiresAt: number;
	userAgent?: string | null;
	clientAddress?: string | null;
}): RefreshFamilyRecord {
	return {
		_id: first.id,
		userId: first.userId,
		current: first.fingerprint,
		fingerprints: [first.fingerprint],
		generation: 1,
		createdAt: first.createdAt,
		expiresAt: first.expiresAt,
		revokedAt: null,
		revokedReason: null,
		previous: null,
		rotatedAt: null,
		successor: null,
		userAgent: first.userAgent ?? null,
		clientAddress: first.clientAddress ?? null
	};
}

export interface NextRefreshToken {
	fingerprint: string;
	expiresAt: number;
	/** When the rotation happened, and the new token sealed for the reuse interval (or null). */
	rotatedAt: number;
	sealed: string | null;
	userAgent: string | null;
	clientAddress: string | null;
}

export interface RefreshFamilyStore {
	ensureIndexes(): Promise<void>;
	insert(record: RefreshFamilyRecord): Promise<void>;
	findById(id: string): Promise<RefreshFamilyRecord | null>;
	/** The user's live families (not revoked, not expired at `now`), oldest first. */
	listLiveOfUser(userId: string, now: number): Promise<RefreshFamilyRecord[]>;
	/** The family one of whose recent tokens has this fingerprint. */
	findByFingerprint(fingerprint: string): Promise<RefreshFamilyRecord | null>;
	/**
	 * Compare-and-set: makes `next` the live token only if `expected` still is (and the family was
	 * not revoked meanwhile), remembering at most `history` fingerprints. Returns whether it did.
	 */
	rotate(id: string, rotation: Rotation): Promise<boolean>;
	/** Revokes the family unless it already is; returns it when this call revoked it. */
	revoke(id: string, reason: string, now: number): Promise<RefreshFamilyRecord | null>;
	/** Revokes every live family of a user; returns how many. */
	revokeAllOfUser(userId: string, reason: string, now: number): Promise<number>;
	/** Deletes families whose last token expired before `now`; returns how many. */
	removeExpired(now: number): Promise<number>;
	/** Forgets the sealed successors of rotations made before `cutoff`; returns how many. */
	clearSuccessorsBefore(cutoff: number): Promise<number>;
}

/** A rotation: the live token `expected` gives way to `next`; `history` fingerprints are kept. */
export interface Rotation {
	expected: string;
	next: NextRefreshToken;
	history: number;
}

export function fingerprintOf(token: string): string {
	return createHash("sha256").update(token).digest("base64url");
}
