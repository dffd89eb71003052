/**
 * What an administrator sees of an account and may change about it: its status (unconfirmed,
 * active, locked), its roles, and what a lock means at a given time. Roles are a view of the
 * account's scopes: the `admin` role is the `admin` scope, so taking the role also takes it from the
 * user's API keys (keys never carry more than their owner has) and from their access tokens (scopes
 * are read from the account on every request). Every account has the `user` role.
 */
import type { AccountStatus, UserRecord } from "../store/user-store";

export const ROLES = ["user", "admin"] as const;
export type Role = (typeof ROLES)[number];

type LockFields = Pick<UserRecord, "lockedAt" | "lockedUntil">;

/** Whether an administrator's lock holds at `now` (a lock with an end lifts itself then). */
export function isLocked(user: LockFields, now: number): boolean {
	if (user.lockedAt == null) return false;
	return user.lockedUntil == null || user.lockedUntil > now;
}

export function statusOf(
	user: LockFields & Pick<UserRecord, "emailVerified">,
	now: number
): AccountStatus {
	if (isLocked(user, now)) return "locked";
	return user.emailVerified ? "active" : "unconfirmed";
}

export function rolesOf(user: Pick<UserRecord, "scopes">): Role[] {
	return user.scopes.includes("admin") ? ["user", "admin"] : ["user"];
}

/** The account's scopes with the `admin` scope added or taken to match `roles`. */
export function scopesWithRoles(scopes: readonly string[], roles: readonly string[]): string[] {
	const others = scopes.filter(s => s !== "admin");
	return roles.includes("admin") ? [...others, "admin"] : others;
}

/** What a search prefix is compared with: lower case, trimmed (keys are stored so). */
export function searchPrefix(q: string | undefined | null): string | undefined {
	const trimmed = q?.trim().toLowerCase();
	return trimmed ? trimmed : undefined;
}
