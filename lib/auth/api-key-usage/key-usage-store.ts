/**
 * What API keys have spent (lib/auth/api-key-usage/key-limits): credits left and requests per rate-limit window.
 * One implementation per adapter, each in its own file (embedded-, mongo-, postgres-key-usage-store),
 * chosen in lib/auth/store/auth-store-adapters. Every spend and every hit is atomic for all the nodes that share
 * the store: a credit is never spent twice, a window's count never loses a request.
 *
 * The embedded store is owned by one auth node, so there the counts live in that node's memory and
 * credits are written behind, once a second: a check costs no write. A crash gives back what the
 * last second spent; a restart starts every rate-limit window afresh.
 */
import type { CreditState, RefillDue } from "./key-limits";
import type { Grant } from "./allowance";

export interface KeyUsageStore {
	ensureIndexes(): Promise<void>;
	/** Sets a key's credits: at its creation, when its owner changes them, on a reroll. */
	setCredits(keyId: string, state: CreditState): Promise<void>;
	/**
	 * Spends one credit (after the refill `due`, if any): the credits left after it, or null when
	 * there was none to spend or the key has no credits set.
	 */
	spendCredit(keyId: string, due: RefillDue | null): Promise<number | null>;
	/** A key's credits as stored (a due refill not applied), or null. */
	credits(keyId: string): Promise<CreditState | null>;
	/**
	 * Counts one request in the window [start, end) of a key's limit; the count with it. `limit`
	 * lets a leasing store (lib/auth/api-key-usage) answer from its lease: then a refused request
	 * answers `limit + 1` and is not counted.
	 */
	hit(keyId: string, name: string, start: number, end: number, limit?: number): Promise<number>;
	/** Forgets a key's credits and windows. */
	removeKey(keyId: string): Promise<void>;
	/** Deletes windows that ended before `now`; how many. */
	removeEndedWindows(now: number): Promise<number>;
	/** Drops this node's leases of a key's counts, if it leases (they were set anew elsewhere). */
	forgetLeases?(keyId: string): void;
	/** Writes what is still buffered. */
	flush(): Promise<void>;
	/** Flushes and lets go (the service stops). */
	close(): Promise<void>;
}

/** A lease of credits: what it got, what was left, and which count it was taken from. */
export interface CreditLease extends Grant {
	left: number;
	/** The refill period the count was in. */
	periodStart: number;
	/** How many times the count was set (setCredits): a lease of an older count is not returned. */
	setCount: number;
}

/** A rate-limit window [start, end) and how many requests it allows. */
export interface LimitWindow {
	start: number;
	end: number;
	limit: number;
}

/** The lease statements a shared store adds to KeyUsageStore (one atomic statement each). */
export interface KeyUsageLeases {
	/** Up to `n` credits (after the refill `due`); null when the key has no credits set. */
	leaseCredits(keyId: string, due: RefillDue | null, n: number): Promise<CreditLease | null>;
	/** Puts `n` credits back, unless the count was refilled or set anew since the lease. */
	returnCredits(keyId: string, n: number, lease: CreditLease): Promise<void>;
	/** Up to `n` requests of the window, never more than its limit in all. */
	leaseHits(keyId: string, name: string, window: LimitWindow, n: number): Promise<Grant>;
	returnHits(keyId: string, name: string, start: number, n: number): Promise<void>;
}

export type SharedKeyUsageStore = KeyUsageStore & KeyUsageLeases;

export interface CreditDoc extends CreditState {
	_id: string;
	/** MongoDB: how many times setCredits ran (see CreditLease). */
	setCount?: number;
}

export function creditLease(granted: number, doc: CreditDoc): CreditLease {
	return {
		granted,
		left: doc.remaining,
		periodStart: doc.refilledAt,
		setCount: doc.setCount ?? 0
	};
}
