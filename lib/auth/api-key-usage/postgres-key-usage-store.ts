import { MigratedStore, type Migration } from "../../store/postgres/migrations";
import type { CreditState, RefillDue } from "./key-limits";
import type { CreditLease, KeyUsageLeases, KeyUsageStore, LimitWindow } from "./key-usage-store";
import type { Grant } from "./allowance";

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
	readonly component = "api_key_usage";
	readonly migrations = MIGRATIONS;

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

	async leaseHits(keyId: string, name: string, window: LimitWindow, n: number): Promise<Grant> {
		const [row] = await this.sql<{ hits: number; last_grant: number }[]>`
			insert into api_key_windows (key_id, name, window_start, window_end, hits, last_grant)
			values (${keyId}, ${name}, ${new Date(window.start)}, ${new Date(window.end)},
				least(${n}::int, ${window.limit}::int), least(${n}::int, ${window.limit}::int))
			on conflict (key_id, name, window_start) do update set
				hits = api_key_windows.hits
					+ least(${n}::int, greatest(0, ${window.limit}::int - api_key_windows.hits)),
				last_grant = least(${n}::int, greatest(0, ${window.limit}::int - api_key_windows.hits))
			returning hits, last_grant`;
		return { granted: row.last_grant, left: Math.max(0, window.limit - row.hits) };
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
