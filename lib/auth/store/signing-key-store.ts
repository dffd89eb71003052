/**
 * Where the access tokens' signing keys live (lib/auth/signing-keys): beside the users, shared by
 * every auth node. Records are only ever inserted and deleted; their state follows from the clock.
 * One implementation per adapter, each in its own file, chosen in auth-store-adapters.
 */
import type { SigningKeyRecord } from "../signing-keys";

export interface SigningKeyStore {
	ensureIndexes(): Promise<void>;
	insert(record: SigningKeyRecord): Promise<void>;
	list(): Promise<SigningKeyRecord[]>;
	/** Deletes these keys; returns how many there were. */
	remove(ids: string[]): Promise<number>;
}
