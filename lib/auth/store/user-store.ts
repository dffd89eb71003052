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
	createdAt: number;
	updatedAt: number;
}

/** Fields an update may set. */
export type UserChanges = Partial<
	Pick<UserRecord, "passwordHash" | "emailVerified" | "scopes" | "tokensValidAfter">
>;

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
	replacePasswordHash(id: string, expected: string, next: string, now: number): Promise<boolean>;
	/** Deletes a user; returns whether it existed. */
	remove(id: string): Promise<boolean>;
	/** Up to `limit` users whose address was never confirmed and who signed up before `cutoff`. */
	findUnconfirmedBefore(cutoff: number, limit: number): Promise<UserRecord[]>;
	/** Every user's id and address, for the start-up check of stored addresses. */
	listEmails(): Promise<{ _id: string; email: string }[]>;
}

export function usernameKeyOf(username: string): string {
	return username.toLowerCase();
}

export function emailKeyOf(email: string): string {
	return email.trim().toLowerCase();
}
