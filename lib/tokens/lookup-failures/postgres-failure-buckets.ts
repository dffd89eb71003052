/**
 * The failed-lookup limit (lib/tokens/lookup-failures/failure-limits/failure-limiter's token bucket) kept in PostgreSQL, so that
 * every `tokens` node drains one bucket per caller: guesses spread over n nodes get the budget of
 * one. Each failure is one UPSERT that refills and drains the bucket in the statement itself, so
 * concurrent failures on several nodes never lose a count. Keys are stored as SHA-256 digests: the
 * table holds no client address.
 */
import { createHash } from "node:crypto";
import type { FailureLimit } from "./failure-limiter";
import type { Sql } from "../../store/postgres/database";
import { migrateOnce, type Migration } from "../../store/postgres/migrations";

export const COMPONENT = "failure_buckets";
export const MIGRATIONS: Migration[] = [
	[
		`create table failure_buckets (
			scope text not null,
			key text not null,
			level double precision not null,
			at timestamptz not null,
			primary key (scope, key)
		)`,
		`create index failure_buckets_at_idx on failure_buckets (at)`
	]
];

function digest(key: string): string {
	return createHash("sha256").update(key).digest("base64url");
}

export class SharedFailureLimiter {
	constructor(
		private readonly sql: Sql,
		private readonly schema: string,
		private readonly scope: string,
		private readonly limit: FailureLimit,
		private readonly now: () => number = Date.now
	) {}

	private migrated(): Promise<unknown> {
		return migrateOnce(this.sql, this.schema, COMPONENT, MIGRATIONS);
	}

	/** Seconds until `key` may fail again: 0 while it has failures left. */
	async retryAfter(key: string): Promise<number> {
		await this.migrated();
		const now = new Date(this.now());
		const rows = await this.sql<{ level: number }[]>`
			select least(${this.limit.burst}::float8,
				level + greatest(0, extract(epoch from (${now}::timestamptz - at))) * ${this.limit.perSecond}::float8
			) as level
			from failure_buckets where scope = ${this.scope} and key = ${digest(key)}`;
		if (rows.length === 0) return 0;
		const level = rows[0].level;
		return level >= 1 ? 0 : Math.ceil((1 - level) / this.limit.perSecond);
	}

	/** Counts one failure of `key`, in one statement. */
	async fail(key: string): Promise<void> {
		await this.migrated();
		const now = new Date(this.now());
		await this.sql`
			insert into failure_buckets (scope, key, level, at)
			values (${this.scope}, ${digest(key)}, ${this.limit.burst - 1}::float8, ${now})
			on conflict (scope, key) do update set
				level = greatest(0, least(${this.limit.burst}::float8,
					failure_buckets.level
						+ greatest(0, extract(epoch from (${now}::timestamptz - failure_buckets.at)))
						* ${this.limit.perSecond}::float8) - 1),
				at = ${now}`;
	}

	/** Forgets buckets full again (idle for longer than a refill takes). */
	async removeFull(): Promise<number> {
		await this.migrated();
		const fullAfterMs = (this.limit.burst / this.limit.perSecond) * 1000;
		const rows = await this.sql`
			delete from failure_buckets
			where scope = ${this.scope} and at < ${new Date(this.now() - fullAfterMs)} returning key`;
		return rows.length;
	}
}
