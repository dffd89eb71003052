/**
 * The user and refresh-family stores as auth's handlers see them: every write that can shut a
 * caller out (or change what a caller may do) reports what it changed, so the caller caches
 * (lib/auth/caller-cache) forget it at once here and, through auth's broadcast, on every node.
 * Wrapping the stores rather than the actions means a new way of changing a user cannot forget to.
 */
import type { CallerChange } from "../caller-cache";
import type * as users from "./user-store";
import type { RefreshFamilyRecord, RefreshFamilyStore, Rotation } from "./refresh-family-store";

export type ChangeListener = (change: CallerChange) => void;

export class NotifyingUserStore implements users.UserStore {
	constructor(
		private readonly store: users.UserStore,
		private readonly changed: ChangeListener
	) {}

	private async told<T>(id: string, write: Promise<T>): Promise<T> {
		try {
			return await write;
		} finally {
			// Also when the write failed: it may have happened with its answer lost.
			this.changed({ users: [id] });
		}
	}

	ensureIndexes(): Promise<void> {
		return this.store.ensureIndexes();
	}
	insert(record: users.UserRecord): Promise<void> {
		return this.store.insert(record);
	}
	findById(id: string): Promise<users.UserRecord | null> {
		return this.store.findById(id);
	}
	findByUsernameKey(usernameKey: string): Promise<users.UserRecord | null> {
		return this.store.findByUsernameKey(usernameKey);
	}
	findByEmailKey(emailKey: string): Promise<users.UserRecord | null> {
		return this.store.findByEmailKey(emailKey);
	}
	update(id: string, changes: users.UserChanges, now: number): Promise<users.UserRecord | null> {
		return this.told(id, this.store.update(id, changes, now));
	}
	replacePasswordHash(id: string, change: users.PasswordHashChange): Promise<boolean> {
		return this.told(id, this.store.replacePasswordHash(id, change));
	}
	advanceTotpStep(id: string, step: number): Promise<boolean> {
		return this.told(id, this.store.advanceTotpStep(id, step));
	}
	spendRecoveryCode(id: string, hash: string): Promise<boolean> {
		return this.told(id, this.store.spendRecoveryCode(id, hash));
	}
	remove(id: string): Promise<boolean> {
		return this.told(id, this.store.remove(id));
	}
	findUnconfirmedBefore(cutoff: number, limit: number): Promise<users.UserRecord[]> {
		return this.store.findUnconfirmedBefore(cutoff, limit);
	}
	listEmails(): Promise<{ _id: string; email: string }[]> {
		return this.store.listEmails();
	}
	recordSignIn(id: string, at: number): Promise<void> {
		return this.store.recordSignIn(id, at);
	}
	search(search: users.UserSearch): Promise<users.UserRecord[]> {
		return this.store.search(search);
	}
}

/** Only ending a session matters to a cached session; a rotation changes nothing it keeps. */
export class NotifyingFamilyStore implements RefreshFamilyStore {
	constructor(
		private readonly store: RefreshFamilyStore,
		private readonly changed: ChangeListener
	) {}

	ensureIndexes(): Promise<void> {
		return this.store.ensureIndexes();
	}
	insert(record: RefreshFamilyRecord): Promise<void> {
		return this.store.insert(record);
	}
	findById(id: string): Promise<RefreshFamilyRecord | null> {
		return this.store.findById(id);
	}
	listLiveOfUser(userId: string, now: number): Promise<RefreshFamilyRecord[]> {
		return this.store.listLiveOfUser(userId, now);
	}
	findByFingerprint(fingerprint: string): Promise<RefreshFamilyRecord | null> {
		return this.store.findByFingerprint(fingerprint);
	}
	rotate(id: string, rotation: Rotation): Promise<boolean> {
		return this.store.rotate(id, rotation);
	}
	async revoke(id: string, reason: string, now: number): Promise<RefreshFamilyRecord | null> {
		try {
			return await this.store.revoke(id, reason, now);
		} finally {
			this.changed({ sessions: [id] });
		}
	}
	async revokeAllOfUser(userId: string, reason: string, now: number): Promise<number> {
		try {
			return await this.store.revokeAllOfUser(userId, reason, now);
		} finally {
			this.changed({ users: [userId] });
		}
	}
	removeExpired(now: number): Promise<number> {
		return this.store.removeExpired(now);
	}
	clearSuccessorsBefore(cutoff: number): Promise<number> {
		return this.store.clearSuccessorsBefore(cutoff);
	}
}
