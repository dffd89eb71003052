/**
 * API-key usage on a store shared by several nodes (PostgreSQL, MongoDB), without a store statement
 * per use: each node leases blocks of a key's credits and of each rate-limit window's allowance
 * (lib/auth/api-key-usage/allowance) and spends them in memory.
 *
 * The guarantees (docs/api-keys.md, "On several nodes"):
 * - a key never passes more uses than its credits or a window's limit, on any number of nodes;
 * - unspent leases go back within HOLD_BOUND_MS (1 s) of a node idling, and on a graceful stop;
 * - a node killed holding leases strands at most its unspent lease per count (about LEASE_SPAN_MS
 *   of its traffic on that key, and at most 1/SHARE of what was left): those uses are lost, never
 *   passed twice;
 * - credits set anew (an owner's update) or a key removed drops every node's lease of the old count
 *   (auth's invalidation, within 1 s), without giving it back.
 *
 * The embedded store is owned by one node and is not wrapped: it counts in memory already.
 */
import { Allowance, SWEEP_MS } from "./allowance";
import type { CreditLease, KeyUsageStore, SharedKeyUsageStore } from "./key-usage-store";
import type { CreditState, RefillDue } from "./key-limits";

interface Held {
	keyId: string;
	/** The refill period (credits) or the window's end (rate limits). */
	until: number;
	allowance: Allowance;
}

export class LeasingKeyUsageStore implements KeyUsageStore {
	private readonly held = new Map<string, Held>();
	private readonly timer: NodeJS.Timeout;

	constructor(
		readonly shared: SharedKeyUsageStore,
		private readonly onError: (err: unknown) => void
	) {
		this.timer = setInterval(() => void this.sweep(Date.now()), SWEEP_MS);
		this.timer.unref();
	}

	ensureIndexes(): Promise<void> {
		return this.shared.ensureIndexes();
	}

	async setCredits(keyId: string, state: CreditState): Promise<void> {
		this.forgetLeases(keyId);
		await this.shared.setCredits(keyId, state);
	}

	async spendCredit(keyId: string, due: RefillDue | null): Promise<number | null> {
		const period = due?.periodStart ?? 0;
		const id = `c\u0000${keyId}\u0000${period}`;
		let held = this.held.get(id);
		if (!held) {
			let lease: CreditLease | null = null;
			let none = false;
			const allowance = new Allowance(
				async n => {
					const grant = await this.shared.leaseCredits(keyId, due, n);
					none = grant === null;
					lease = grant ?? lease;
					return grant ?? { granted: 0, left: null };
				},
				async n => {
					if (lease) await this.shared.returnCredits(keyId, n, lease);
				}
			);
			held = { keyId, until: Infinity, allowance };
			this.held.set(id, held);
			// A new period's lease replaces the last period's (the store refills to the new amount).
			for (const other of this.held.keys()) {
				if (other !== id && other.startsWith(`c\u0000${keyId}\u0000`))
					this.held.delete(other);
			}
			const left = await allowance.take();
			if (none) this.held.delete(id);
			return left;
		}
		return held.allowance.take();
	}

	credits(keyId: string): Promise<CreditState | null> {
		return this.shared.credits(keyId);
	}

	/** With `limit`, from the window's lease; the count answered is as seen from this node. */
	async hit(
		keyId: string,
		name: string,
		start: number,
		end: number,
		limit?: number
	): Promise<number> {
		if (limit === undefined) return this.shared.hit(keyId, name, start, end);
		const id = `w\u0000${keyId}\u0000${name}\u0000${start}`;
		let held = this.held.get(id);
		if (!held) {
			const allowance = new Allowance(
				n => this.shared.leaseHits(keyId, name, { start, end, limit }, n),
				n => this.shared.returnHits(keyId, name, start, n)
			);
			held = { keyId, until: end, allowance };
			this.held.set(id, held);
		}
		const left = await held.allowance.take();
		return left === null ? limit + 1 : limit - left;
	}

	async removeKey(keyId: string): Promise<void> {
		this.forgetLeases(keyId);
		await this.shared.removeKey(keyId);
	}

	removeEndedWindows(now: number): Promise<number> {
		return this.shared.removeEndedWindows(now);
	}

	/** Drops this node's leases of a key without giving them back (its counts were set anew). */
	forgetLeases(keyId: string): void {
		for (const [id, held] of this.held) {
			if (held.keyId === keyId) {
				held.allowance.drop();
				this.held.delete(id);
			}
		}
	}

	/** Gives back idle and old leases; forgets ended windows and long-idle counts. */
	async sweep(now: number, force = false): Promise<void> {
		const returns: Promise<void>[] = [];
		for (const [id, held] of this.held) {
			if (held.until <= now) {
				this.held.delete(id);
				continue;
			}
			returns.push(held.allowance.release(force).catch(this.onError));
			if (!held.allowance.busy && now - held.allowance.idleSince > 60_000) {
				this.held.delete(id);
			}
		}
		await Promise.all(returns);
	}

	async flush(): Promise<void> {
		await this.shared.flush();
	}

	/** Gives every unspent lease back, then lets go. */
	async close(): Promise<void> {
		clearInterval(this.timer);
		await this.sweep(Date.now(), true);
		await this.shared.close();
	}
}
