/**
 * What the `auth` service needs from its user storage. One implementation per moleculer-db adapter
 * (NeDB, MongoDB). Username and e-mail are unique without regard to case: the store keeps lower-case
 * copies (`usernameKey`, `emailKey`) under unique indexes, so of two concurrent sign-ups with one
 * address exactly one insert succeeds.
 */
export interface UserRecord {
	_id: string;
	/** As the user typed it. */
	username: string;
	usernameKey: string;
	/** As the user typed it (mail goes there). */
	email: string;
	emailKey: string;
	/**
	 * `scrypt$N$r$p$salt$hash` (lib/auth/password). Never leaves the service. Null: no password sign-in
	 * until the owner sets one (a password chosen before the address was proven does not survive
	 * the proof unless the prover shows it).
	 */
	passwordHash: string | null;
	emailVerified: boolean;
	/** What the user's access tokens and API keys may be granted. */
	scopes: string[];
	/**
	 * Epoch milliseconds, a whole second: access tokens issued before it are rejected
	 * ("sign out everywhere", password changes).
	 */
	tokensValidAfter: number;
	/**
	 * TOTP (RFC 6238, services/auth/sign-in/totp.mixin): the secret sealed (AES-256-GCM, never in clear),
	 * set at enrolment; when it was turned on (epoch ms; null: off; sessions started before it did
	 * not pass it); the last time step accepted (a code is never accepted twice); the recovery
	 * codes' HMACs, each removed when used. Absent: never enrolled.
	 */
	totpSecret?: string | null;
	totpEnabledAt?: number | null;
	totpLastStep?: number | null;
	recoveryCodes?: string[];
	/**
	 * An administrator's lock (lib/auth/accounts/account-status): when it started (epoch ms; null or
	 * absent: not locked), when it ends by itself (null: when unlocked) and why (shown to admins).
	 */
	lockedAt?: number | null;
	lockedUntil?: number | null;
	lockReason?: string | null;
	/** The last session started (epoch ms), for administrators; absent: never signed in. */
	lastSignInAt?: number | null;
	createdAt: number;
	updatedAt: number;
}

/** Fields an update may set. */
export type UserChanges = Partial<
	Pick<
		UserRecord,
		| "passwordHash"
		| "emailVerified"
		| "scopes"
		| "tokensValidAfter"
		| "totpSecret"
		| "totpEnabledAt"
		| "totpLastStep"
		| "recoveryCodes"
		| "lockedAt"
		| "lockedUntil"
		| "lockReason"
	>
>;

/** What an account is, for administrators' searches. */
export type AccountStatus = "unconfirmed" | "active" | "locked";

/**
 * An administrators' search: names or addresses starting with `prefix` (lower case), of one
 * status, in username order after the username key `after`.
 */
export interface UserSearch {
	prefix?: string;
	status?: AccountStatus;
	after?: string;
	limit: number;
	now: number;
}

export class DuplicateUserError extends Error {
	constructor() {
		super("username or e-mail already registered");
		this.name = "DuplicateUserError";
	}
}

export interface UserStore {
	ensureIndexes(): Promise<void>;
	/** Inserts a new user; throws DuplicateUserError when the username or e-mail is taken. */
	insert(record: UserRecord): Promise<void>;
	findById(id: string): Promise<UserRecord | null>;
	findByUsernameKey(usernameKey: string): Promise<UserRecord | null>;
	findByEmailKey(emailKey: string): Promise<UserRecord | null>;
	/** Sets `changes` (and updatedAt) and returns the updated user, or null when it does not exist. */
	update(id: string, changes: UserChanges, now: number): Promise<UserRecord | null>;
	/**
	 * Replaces the password hash only if it is still `expected` (a re-hash at sign-in must not undo
	 * a password change that happened meanwhile). Returns whether it did.
	 */
	replacePasswordHash(id: string, change: PasswordHashChange): Promise<boolean>;
	/**
	 * Compare-and-set: records `step` as the last TOTP step accepted only if it is later than the one
	 * recorded. Of concurrent sign-ins with one code exactly one gets true.
	 */
	advanceTotpStep(id: string, step: number): Promise<boolean>;
	/** Removes one recovery code's HMAC if it is still there; of concurrent uses one gets true. */
	spendRecoveryCode(id: string, hash: string): Promise<boolean>;
	/** Deletes a user; returns whether it existed. */
	remove(id: string): Promise<boolean>;
	/** Up to `limit` users whose address was never confirmed and who signed up before `cutoff`. */
	findUnconfirmedBefore(cutoff: number, limit: number): Promise<UserRecord[]>;
	/** Notes a session's start (no caller is shut out by it, so caches need not hear of it). */
	recordSignIn(id: string, at: number): Promise<void>;
	/** Users matching `search`, in username-key order. */
	search(search: UserSearch): Promise<UserRecord[]>;
	/** Every user's id and address, for the start-up check of stored addresses. */
	listEmails(): Promise<{ _id: string; email: string }[]>;
}

/** A compare-and-set of a password hash: `expected` gives way to `next`, at `now`. */
export interface PasswordHashChange {
	expected: string;
	next: string;
	now: number;
}

export function usernameKeyOf(username: string): string {
	return username.toLowerCase();
}

export function emailKeyOf(email: string): string {
	return email.trim().toLowerCase();
}
