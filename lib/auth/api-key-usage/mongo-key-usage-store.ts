import type { MongoCollection } from "../../store/mongo/collection";
import type { CreditState, RefillDue } from "./key-limits";
import {
	creditLease,
	type CreditDoc,
	type CreditLease,
	type KeyUsageLeases,
	type KeyUsageStore,
	type LimitWindow
} from "./key-usage-store";
import type { Grant } from "./allowance";

interface WindowDoc {
	_id: string;
	hits: number;
	endsAt: number;
}

/**
 * MongoDB: two collections, every step one atomic document update. A lease of credits takes `n` if
 * that many are left, else one; a lease of hits adds `n` and gives back what went over the limit
 * (so for a moment another node may be refused early, never passed beyond the limit).
 */
export class MongoKeyUsageStore implements KeyUsageStore, KeyUsageLeases {
	constructor(
		private readonly credit: MongoCollection<CreditDoc>,
		private readonly window: MongoCollection<WindowDoc>
	) {}

	async ensureIndexes(): Promise<void> {
		await this.window.createIndex({ endsAt: 1 });
	}

	async setCredits(keyId: string, state: CreditState): Promise<void> {
		await this.credit.findOneAndUpdate(
			{ _id: keyId },
			{ $set: state, $inc: { setCount: 1 } },
			{ upsert: true }
		);
	}

	async spendCredit(keyId: string, due: RefillDue | null): Promise<number | null> {
		if (due) {
			// Idempotent per period: of concurrent refills, the first sets it and the rest match nothing.
			await this.credit.updateOne(
				{ _id: keyId, refilledAt: { $lt: due.periodStart } },
				{ $set: { remaining: due.amount, refilledAt: due.periodStart } }
			);
		}
		const res = await this.credit.findOneAndUpdate(
			{ _id: keyId, remaining: { $gt: 0 } },
			{ $inc: { remaining: -1 } },
			{ returnOriginal: false }
		);
		return res.value ? res.value.remaining : null;
	}

	async leaseCredits(
		keyId: string,
		due: RefillDue | null,
		n: number
	): Promise<CreditLease | null> {
		if (n > 1) {
			if (due) await this.spendCredit(keyId, due).then(left => this.returnOne(keyId, left));
			const res = await this.credit.findOneAndUpdate(
				{ _id: keyId, remaining: { $gte: n } },
				{ $inc: { remaining: -n } },
				{ returnOriginal: false }
			);
			if (res.value) return creditLease(n, res.value);
		}
		const left = await this.spendCredit(keyId, due);
		const doc = await this.credit.findOne({ _id: keyId });
		return doc && creditLease(left === null ? 0 : 1, doc);
	}

	/** A refill applied through spendCredit spent one credit: put it back. */
	private async returnOne(keyId: string, left: number | null): Promise<void> {
		if (left !== null) await this.credit.updateOne({ _id: keyId }, { $inc: { remaining: 1 } });
	}

	async returnCredits(keyId: string, n: number, lease: CreditLease): Promise<void> {
		await this.credit.updateOne(
			{ _id: keyId, refilledAt: lease.periodStart, setCount: lease.setCount ?? 0 },
			{ $inc: { remaining: n } }
		);
	}

	async leaseHits(keyId: string, name: string, window: LimitWindow, n: number): Promise<Grant> {
		const id = `${keyId}\u0000${name}\u0000${window.start}`;
		const res = await this.window.findOneAndUpdate(
			{ _id: id },
			{ $inc: { hits: n }, $setOnInsert: { endsAt: window.end } },
			{ upsert: true, returnOriginal: false }
		);
		const hits = res.value?.hits ?? n;
		const over = Math.min(n, Math.max(0, hits - window.limit));
		if (over > 0) await this.window.updateOne({ _id: id }, { $inc: { hits: -over } });
		return { granted: n - over, left: Math.max(0, window.limit - hits) };
	}

	async returnHits(keyId: string, name: string, start: number, n: number): Promise<void> {
		await this.window.updateOne(
			{ _id: `${keyId}\u0000${name}\u0000${start}` },
			{ $inc: { hits: -n } }
		);
	}

	async credits(keyId: string): Promise<CreditState | null> {
		const doc = await this.credit.findOne({ _id: keyId });
		return doc && { remaining: doc.remaining, refilledAt: doc.refilledAt };
	}

	async hit(keyId: string, name: string, start: number, end: number): Promise<number> {
		const res = await this.window.findOneAndUpdate(
			{ _id: `${keyId}\u0000${name}\u0000${start}` },
			{ $inc: { hits: 1 }, $setOnInsert: { endsAt: end } },
			{ upsert: true, returnOriginal: false }
		);
		return res.value?.hits ?? 1;
	}

	async removeKey(keyId: string): Promise<void> {
		await this.credit.deleteMany({ _id: keyId });
		await this.window.deleteMany({ _id: { $regex: `^${keyId.replace(/\W/g, "\\$&")}\u0000` } });
	}

	async removeEndedWindows(now: number): Promise<number> {
		return (await this.window.deleteMany({ endsAt: { $lte: now } })).deletedCount ?? 0;
	}

	async flush(): Promise<void> {}

	async close(): Promise<void> {}
}
