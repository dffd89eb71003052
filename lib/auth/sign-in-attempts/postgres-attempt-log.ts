/**
 * The auth service's sliding-window attempt limits (lib/auth/sign-in-attempts/attempt-limiter) kept in PostgreSQL,
 * so that sign-in attempts per account and per address, and mails per address, are counted once
 * for the whole cluster: guesses spread over n `auth` nodes get the budget of one. Each attempt is
 * a short transaction under an advisory lock on its key, so concurrent attempts on any nodes are
 * counted one after the other, as the in-memory limiter counts them. Keys (login names, e-mail and
 * client addresses) are stored as SHA-256 digests only.
 */
import { createHash } from "node:crypto";
import type { AttemptCounter, AttemptResult } from "./attempt-limiter";
import type { Sql } from "../../store/postgres/database";
import { migrateOnce, type Migration } from "../../store/postgres/migrations";
import { inTransaction } from "../../store/postgres/transaction";

export const COMPONENT = "attempt_log";
export const MIGRATIONS: Migration[] = [
	[
		`create table attempt_log (
			scope text not null,
			key text not null,
			at timestamptz not null
		)`,
		`create index attempt_log_key_idx on attempt_log (scope, key, at)`,
		`create index attempt_log_at_idx on attempt_log (at)`
	]
];

export interface SharedAttemptLimits {
	maxAttempts: number;
	windowMs: number;
}

export class SharedAttemptLimiter implements AttemptCounter {
	constructor(
		private readonly sql: Sql,
		private readonly schema: string,
		private readonly scope: string,
		private readonly limits: SharedAttemptLimits,
		private readonly now: () => number = Date.now
	) {}

	private migrated(): Promise<unknown> {
		return migrateOnce(this.sql, this.schema, COMPONENT, MIGRATIONS);
	}

	private digest(key: string): string {
		return createHash("sha256").update(`${this.scope}\u0000${key}`).digest("base64url");
	}

	async hit(key: string): Promise<AttemptResult> {
		await this.migrated();
		const digest = this.digest(key);
		const now = this.now();
		const since = new Date(now - this.limits.windowMs);
		return inTransaction(this.sql, async tx => {
			await tx`select pg_advisory_xact_lock(hashtextextended(${digest}, 0))`;
			const [live] = await tx<{ count: number; first: Date | null }[]>`
				select count(*)::int as count, min(at) as first from attempt_log
				where scope = ${this.scope} and key = ${digest} and at > ${since}`;
			if (live.count >= this.limits.maxAttempts) {
				const first = live.first ? live.first.getTime() : now;
				return {
					allowed: false,
					retryAfterMs: Math.max(0, first + this.limits.windowMs - now)
				};
			}
			await tx`insert into attempt_log (scope, key, at) values (${this.scope}, ${digest}, ${new Date(now)})`;
			return { allowed: true, retryAfterMs: 0 };
		});
	}

	async remaining(key: string): Promise<number> {
		await this.migrated();
		const [live] = await this.sql<{ count: number }[]>`
			select count(*)::int as count from attempt_log
			where scope = ${this.scope} and key = ${this.digest(key)}
				and at > ${new Date(this.now() - this.limits.windowMs)}`;
		return Math.max(0, this.limits.maxAttempts - live.count);
	}

	async reset(key: string): Promise<void> {
		await this.migrated();
		await this
			.sql`delete from attempt_log where scope = ${this.scope} and key = ${this.digest(key)}`;
	}

	/** Forgets attempts that have left the window; returns how many. */
	async prune(): Promise<number> {
		await this.migrated();
		const rows = await this.sql`
			delete from attempt_log
			where scope = ${this.scope} and at <= ${new Date(this.now() - this.limits.windowMs)}
			returning 1`;
		return rows.length;
	}
}
