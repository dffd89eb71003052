/**
 * What API keys have spent (lib/auth/key-limits): credits left and requests per rate-limit window.
 * One implementation per adapter. Every spend and every hit is atomic for all the nodes that share
 * the store: a credit is never spent twice, a window's count never loses a request.
 *
 * The embedded store is owned by one auth node, so there the counts live in that node's memory and
 * credits are written behind, once a second: a check costs no write. A crash gives back what the
 * last second spent; a restart starts every rate-limit window afresh.
 */
import type Datastore from "@seald-io/nedb";
import type { MongoCollection } from "../../store/mongo/collection";
import { MigratedStore, type Migration } from "../../store/postgres/migrations";
import { spend, type CreditState, type RefillDue } from "../key-limits";
import type { Grant } from "../api-key-usage/allowance";

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

/** The lease statements a shared store adds to KeyUsageStore (one atomic statement each). */
export interface KeyUsageLeases {
	/** Up to `n` credits (after the refill `due`); null when the key has no credits set. */
	leaseCredits(keyId: string, due: RefillDue | null, n: number): Promise<CreditLease | null>;
	/** Puts `n` credits back, unless the count was refilled or set anew since the lease. */
	returnCredits(keyId: string, n: number, lease: CreditLease): Promise<void>;
	/** Up to `n` requests of the window [start, end) of a limit of `limit`. */
	leaseHits(
		keyId: string,
		name: string,
		window: { start: number; end: number },
		limit: number,
		n: number
	): Promise<Grant>;
	returnHits(keyId: string, name: string, start: number, n: number): Promise<void>;
}

export type SharedKeyUsageStore = KeyUsageStore & KeyUsageLeases;

interface CreditDoc extends CreditState {
	_id: string;
	/** MongoDB: how many times setCredits ran (see CreditLease). */
	setCount?: number;
}

function creditLease(granted: number, doc: CreditDoc): CreditLease {
	return {
		granted,
		left: doc.remaining,
		periodStart: doc.refilledAt,
		setCount: doc.setCount ?? 0
	};
}

/** The embedded store: counts in memory, credits written behind to their own NeDB file. */
export class EmbeddedKeyUsageStore implements KeyUsageStore {
	private readonly loaded = new Map<string, Promise<CreditState | null>>();
	private readonly dirty = new Set<string>();
	private readonly windows = new Map<string, { start: number; end: number; hits: number }>();
	private readonly timer: NodeJS.Timeout;
	private flushing: Promise<void> = Promise.resolve();

	constructor(
		private readonly db: Datastore<CreditDoc>,
		flushMs = 1000
	) {
		this.timer = setInterval(() => void this.flush().catch(() => undefined), flushMs);
		this.timer.unref();
	}

	async ensureIndexes(): Promise<void> {}

	private state(keyId: string): Promise<CreditState | null> {
		let state = this.loaded.get(keyId);
		if (!state) {
			state = this.db
				.findOneAsync({ _id: keyId })
				.then(doc =>
					doc ? { remaining: doc.remaining, refilledAt: doc.refilledAt } : null
				);
			this.loaded.set(keyId, state);
			// A failed read is not remembered: the next check reads again.
			state.catch(() => this.loaded.delete(keyId));
		}
		return state;
	}

	async setCredits(keyId: string, state: CreditState): Promise<void> {
		await this.db.updateAsync({ _id: keyId }, { _id: keyId, ...state }, { upsert: true });
		this.loaded.set(keyId, Promise.resolve({ ...state }));
		this.dirty.delete(keyId);
	}

	async spendCredit(keyId: string, due: RefillDue | null): Promise<number | null> {
		const state = await this.state(keyId);
		if (!state) return null;
		// No await between reading and writing the state: spends on this node are serial.
		const next = spend(state, due);
		if (next.state !== state) {
			Object.assign(state, next.state);
			this.dirty.add(keyId);
		}
		return next.spent ? state.remaining : null;
	}

	async credits(keyId: string): Promise<CreditState | null> {
		const state = await this.state(keyId);
		return state && { ...state };
	}

	async hit(keyId: string, name: string, start: number, end: number): Promise<number> {
		const id = `${keyId}\u0000${name}`;
		const window = this.windows.get(id);
		if (window && window.start === start) return ++window.hits;
		this.windows.set(id, { start, end, hits: 1 });
		return 1;
	}

	async removeKey(keyId: string): Promise<void> {
		this.loaded.delete(keyId);
		this.dirty.delete(keyId);
		for (const id of this.windows.keys()) {
			if (id.startsWith(`${keyId}\u0000`)) this.windows.delete(id);
		}
		await this.db.removeAsync({ _id: keyId }, {});
	}

	async removeEndedWindows(now: number): Promise<number> {
		let removed = 0;
		for (const [id, w] of this.windows) {
			if (w.end <= now) {
				this.windows.delete(id);
				removed++;
			}
		}
		return removed;
	}

	flush(): Promise<void> {
		this.flushing = this.flushing.then(async () => {
			const ids = [...this.dirty];
			this.dirty.clear();
			for (const id of ids) {
				const state = await this.loaded.get(id);
				if (!state) continue;
				try {
					await this.db.updateAsync({ _id: id }, { $set: { ...state } }, {});
				} catch (err) {
					this.dirty.add(id);
					throw err;
				}
			}
		});
		return this.flushing;
	}

	async close(): Promise<void> {
		clearInterval(this.timer);
		await this.flush();
	}
}

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

	async leaseHits(
		keyId: string,
		name: string,
		window: { start: number; end: number },
		limit: number,
		n: number
	): Promise<Grant> {
		const id = `${keyId}\u0000${name}\u0000${window.start}`;
		const res = await this.window.findOneAndUpdate(
			{ _id: id },
			{ $inc: { hits: n }, $setOnInsert: { endsAt: window.end } },
			{ upsert: true, returnOriginal: false }
		);
		const hits = res.value?.hits ?? n;
		const over = Math.min(n, Math.max(0, hits - limit));
		if (over > 0) await this.window.updateOne({ _id: id }, { $inc: { hits: -over } });
		return { granted: n - over, left: Math.max(0, limit - hits) };
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

const MIGRATIONS: Migration[] = [
	[
		`create table api_key_credits (
			key_id text primary key,
			remaining bigint not null,
			refilled_at timestamptz not null
		)`,
		`create table api_key_windows (
			key_id text not null,
			name text not null,
			window_start timestamptz not null,
			window_end timestamptz not null,
			hits integer not null,
			primary key (key_id, name, window_start)
		)`,
		`create index api_key_windows_end_idx on api_key_windows (window_end)`
	],
	// What the last lease statement granted (lib/auth/api-key-usage): RETURNING sees new values only.
	[
		`alter table api_key_credits add column last_grant bigint not null default 0`,
		// Counts setCredits: a lease of credits set before is not given back into the new count.
		`alter table api_key_credits add column set_count integer not null default 0`,
		`alter table api_key_windows add column last_grant integer not null default 0`
	]
];

/** PostgreSQL: every step one statement, so every node sharing the schema counts together. */
export class PostgresKeyUsageStore extends MigratedStore implements KeyUsageStore, KeyUsageLeases {
	protected readonly component = "api_key_usage";
	protected readonly migrations = MIGRATIONS;

	async setCredits(keyId: string, state: CreditState): Promise<void> {
		await this.sql`
			insert into api_key_credits (key_id, remaining, refilled_at)
			values (${keyId}, ${state.remaining}, ${new Date(state.refilledAt)})
			on conflict (key_id) do update
			set remaining = excluded.remaining, refilled_at = excluded.refilled_at,
				set_count = api_key_credits.set_count + 1`;
	}

	async spendCredit(keyId: string, due: RefillDue | null): Promise<number | null> {
		// Without a refill the period starts at the epoch, before any stored refill time.
		const periodStart = new Date(due?.periodStart ?? 0);
		const amount = due?.amount ?? 0;
		const rows = await this.sql<{ remaining: string }[]>`
			update api_key_credits set
				remaining = case when refilled_at < ${periodStart} then ${amount}::bigint - 1
					else remaining - 1 end,
				refilled_at = greatest(refilled_at, ${periodStart})
			where key_id = ${keyId}
				and (remaining > 0 or (refilled_at < ${periodStart} and ${amount}::bigint > 0))
			returning remaining`;
		return rows.length === 0 ? null : Number(rows[0].remaining);
	}

	async leaseCredits(
		keyId: string,
		due: RefillDue | null,
		n: number
	): Promise<CreditLease | null> {
		const periodStart = new Date(due?.periodStart ?? 0);
		const amount = due?.amount ?? 0;
		// Every right-hand side reads the row as it was: `available` is the refilled remainder.
		const [row] = await this.sql<
			{ remaining: string; last_grant: string; refilled_at: Date; set_count: number }[]
		>`
			update api_key_credits set
				remaining = available - least(${n}::bigint, available),
				last_grant = least(${n}::bigint, available),
				refilled_at = greatest(refilled_at, ${periodStart})
			from (select case when refilled_at < ${periodStart} then ${amount}::bigint
					else remaining end as available
				from api_key_credits where key_id = ${keyId} for update) as now_left
			where key_id = ${keyId}
			returning remaining, last_grant, refilled_at, set_count`;
		return row
			? {
					granted: Number(row.last_grant),
					left: Number(row.remaining),
					periodStart: row.refilled_at.getTime(),
					setCount: row.set_count
				}
			: null;
	}

	async returnCredits(keyId: string, n: number, lease: CreditLease): Promise<void> {
		await this.sql`
			update api_key_credits set remaining = remaining + ${n}
			where key_id = ${keyId} and refilled_at = ${new Date(lease.periodStart)}
				and set_count = ${lease.setCount}`;
	}

	async leaseHits(
		keyId: string,
		name: string,
		window: { start: number; end: number },
		limit: number,
		n: number
	): Promise<Grant> {
		const [row] = await this.sql<{ hits: number; last_grant: number }[]>`
			insert into api_key_windows (key_id, name, window_start, window_end, hits, last_grant)
			values (${keyId}, ${name}, ${new Date(window.start)}, ${new Date(window.end)},
				least(${n}::int, ${limit}::int), least(${n}::int, ${limit}::int))
			on conflict (key_id, name, window_start) do update set
				hits = api_key_windows.hits
					+ least(${n}::int, greatest(0, ${limit}::int - api_key_windows.hits)),
				last_grant = least(${n}::int, greatest(0, ${limit}::int - api_key_windows.hits))
			returning hits, last_grant`;
		return { granted: row.last_grant, left: Math.max(0, limit - row.hits) };
	}

	async returnHits(keyId: string, name: string, start: number, n: number): Promise<void> {
		await this.sql`
			update api_key_windows set hits = greatest(0, hits - ${n})
			where key_id = ${keyId} and name = ${name} and window_start = ${new Date(start)}`;
	}

	async credits(keyId: string): Promise<CreditState | null> {
		const [row] = await this.sql<{ remaining: string; refilled_at: Date }[]>`
			select remaining, refilled_at from api_key_credits where key_id = ${keyId}`;
		return row
			? { remaining: Number(row.remaining), refilledAt: row.refilled_at.getTime() }
			: null;
	}

	async hit(keyId: string, name: string, start: number, end: number): Promise<number> {
		const [row] = await this.sql<{ hits: number }[]>`
			insert into api_key_windows (key_id, name, window_start, window_end, hits)
			values (${keyId}, ${name}, ${new Date(start)}, ${new Date(end)}, 1)
			on conflict (key_id, name, window_start) do update
			set hits = api_key_windows.hits + 1
			returning hits`;
		return row.hits;
	}

	async removeKey(keyId: string): Promise<void> {
		await this.sql`delete from api_key_credits where key_id = ${keyId}`;
		await this.sql`delete from api_key_windows where key_id = ${keyId}`;
	}

	async removeEndedWindows(now: number): Promise<number> {
		const res = await this
			.sql`delete from api_key_windows where window_end <= ${new Date(now)}`;
		return res.count;
	}

	async flush(): Promise<void> {}

	async close(): Promise<void> {}
}
