/**
 * Passkeys (WebAuthn credentials) of users: one record per credential, its public key stored as is
 * (it is not a secret), the signature counter last seen, and whether it was caught cloned. One
 * adapter per store: nedb-, postgres- and mongo-passkey-store.ts; the contract suite runs them all.
 */

export type PasskeyDeviceType = "singleDevice" | "multiDevice";

export interface PasskeyRecord {
	/** The credential id, base64url, as the authenticator made it. */
	_id: string;
	userId: string;
	name: string;
	/** The COSE public key, base64url. */
	publicKey: string;
	/** The signature counter last accepted (0: the authenticator keeps none). */
	counter: number;
	transports: string[];
	deviceType: PasskeyDeviceType;
	backedUp: boolean;
	createdAt: number;
	lastUsedAt: number | null;
	/** When a counter that went backwards showed it was cloned; it signs nobody in after that. */
	clonedAt: number | null;
}

export interface PasskeyStore {
	ensureIndexes(): Promise<void>;
	insert(record: PasskeyRecord): Promise<void>;
	findById(id: string): Promise<PasskeyRecord | null>;
	/** A user's passkeys, oldest first. */
	listOfUser(userId: string): Promise<PasskeyRecord[]>;
	/** Renames one of `userId`'s passkeys; the record, or null when it is not theirs. */
	rename(id: string, userId: string, name: string): Promise<PasskeyRecord | null>;
	/** Records a sign-in: the new counter only if the stored one is still `expected`. */
	recordUse(id: string, expected: number, counter: number, now: number): Promise<boolean>;
	markCloned(id: string, now: number): Promise<void>;
	/** Removes one of `userId`'s passkeys; whether it was there. */
	remove(id: string, userId: string): Promise<boolean>;
	removeAllOfUser(userId: string): Promise<number>;
}
