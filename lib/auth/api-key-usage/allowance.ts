/**
 * A node's share of one shared count (a key's credits, or one rate-limit window's allowance),
 * leased from the store in blocks and spent in memory, so a use costs no store statement.
 *
 * Exactness comes from the store: a lease is one atomic statement that never grants more than is
 * left, so the uses passed on all nodes together never exceed the count. What a node holds and does
 * not spend goes back when the node idles (IDLE_MS) or the lease grows old (MAX_HOLD_MS), so a node
 * holding some never keeps another refusing for longer than about HOLD_BOUND_MS. A node that dies
 * loses its unspent lease: at most one lease a count, sized to LEASE_SPAN_MS of its traffic and
 * never more than 1/SHARE of what the store had left (so near the end leases shrink to 1).
 */

/** Leases last about this much of the observed traffic. */
export const LEASE_SPAN_MS = 100;
/** Near the end a lease takes at most this fraction (1/SHARE) of what the store had left. */
export const SHARE = 8;
export const MAX_LEASE = 10_000;
/** Unspent leases go back after this long without a use… */
export const IDLE_MS = 200;
/** …or this long after they were granted, whichever comes first. */
export const MAX_HOLD_MS = 800;
/** The sweep that gives them back runs this often: the bound is MAX_HOLD_MS + SWEEP_MS. */
export const SWEEP_MS = 200;
export const HOLD_BOUND_MS = MAX_HOLD_MS + SWEEP_MS;

/** What one lease statement got: `granted` uses, and what the store still holds after it. */
export interface Grant {
	granted: number;
	/** What is left in the store for every node; null when there is nothing to lease from. */
	left: number | null;
}

/** How many uses to ask for, given who waits, the recent rate (uses/s) and what the store had left. */
export function leaseSize(waiting: number, ratePerSecond: number, left: number | null): number {
	const wanted = Math.max(1, waiting, Math.ceil((ratePerSecond * LEASE_SPAN_MS) / 1000));
	const cap = left === null ? MAX_LEASE : Math.max(1, Math.floor(left / SHARE));
	return Math.min(wanted, cap, MAX_LEASE);
}

/** A use that passed: what this node counts as left after it. Null: refused. */
export type Taken = number | null;

type Waiter = { resolve: (taken: Taken) => void; reject: (err: unknown) => void };

export class Allowance {
	/** Leased and not spent yet. */
	private available = 0;
	/** What the store had left after the last lease (null before any). */
	private storeLeft: number | null = null;
	private leasedAt = 0;
	private lastUseAt = 0;
	/** Uses since rateSince, for the observed rate (uses/s) that sizes the next lease. */
	private uses = 0;
	private rateSince: number | null = null;
	private rate = 0;
	private waiters: Waiter[] = [];
	private leasing = false;

	constructor(
		private readonly lease: (n: number) => Promise<Grant>,
		private readonly giveBack: (n: number) => Promise<void>,
		private readonly now: () => number = Date.now
	) {}

	/** One use: what is left after it, or null if refused. No store statement while the lease lasts. */
	take(): Taken | Promise<Taken> {
		this.lastUseAt = this.now();
		this.uses++;
		if (this.available > 0) {
			this.available--;
			return this.left;
		}
		return new Promise<Taken>((resolve, reject) => {
			this.waiters.push({ resolve, reject });
			if (!this.leasing) void this.leaseForWaiters();
		});
	}

	/** What is left for this node to count as left: the store's remainder plus the unspent lease. */
	get left(): number {
		return (this.storeLeft ?? 0) + this.available;
	}

	get idleSince(): number {
		return this.lastUseAt;
	}

	get busy(): boolean {
		return this.leasing || this.waiters.length > 0;
	}

	private async leaseForWaiters(): Promise<void> {
		this.leasing = true;
		try {
			while (this.waiters.length > 0) {
				const now = this.now();
				if (this.rateSince === null) this.rateSince = now;
				else if (now > this.rateSince) {
					this.rate = (this.uses * 1000) / (now - this.rateSince);
					this.uses = 0;
					this.rateSince = now;
				}
				const wanted = leaseSize(this.waiters.length, this.rate, this.storeLeft);
				let grant: Grant;
				try {
					grant = await this.lease(wanted);
				} catch (err) {
					for (const w of this.waiters.splice(0)) w.reject(err);
					return;
				}
				this.leasedAt = this.now();
				this.storeLeft = grant.left;
				this.available += grant.granted;
				while (this.available > 0 && this.waiters.length > 0) {
					this.available--;
					this.waiters.shift()!.resolve(this.left);
				}
				// The store is empty: whoever still waits is refused (as if answered by this statement).
				if (grant.granted === 0 || !grant.left) {
					for (const w of this.waiters.splice(0)) w.resolve(null);
				}
			}
		} finally {
			this.leasing = false;
		}
	}

	/**
	 * Gives back what is unspent if the lease idles or is old (`force`: whatever its age, for a
	 * stopping node). Resolves once the store has it back.
	 */
	async release(force = false): Promise<void> {
		const now = this.now();
		if (this.available === 0 || this.leasing) return;
		if (!force && now - this.lastUseAt < IDLE_MS && now - this.leasedAt < MAX_HOLD_MS) return;
		const n = this.available;
		this.available = 0;
		this.storeLeft = (this.storeLeft ?? 0) + n;
		await this.giveBack(n);
	}

	/** Forgets the lease without giving it back (the count was set anew, or the key is gone). */
	drop(): void {
		this.available = 0;
		this.storeLeft = null;
	}
}
