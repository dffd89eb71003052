/**
 * Schema migrations at start-up. Each store names its component ("tokens", "users"…) and lists its
 * migrations in order; version n is the n-th entry. Every node runs `migrate` when it connects: the
 * steps run in one transaction under a transaction-scoped advisory lock, so of several nodes
 * starting at once one applies what is missing and the others, once the lock is theirs, find it
 * recorded in `schema_migrations` and do nothing.
 */
import type { Sql } from "./database";
import { LookupBatcher } from "../lookup-batcher";
import { inTransaction } from "./transaction";

/** One migration: SQL statements run in order, in the migration transaction. */
export type Migration = readonly string[];

/** Arbitrary, fixed: the advisory-lock key every node of this project takes around migrations. */
const MIGRATION_LOCK_KEY = 7_345_112_901;

export async function migrate(
	sql: Sql,
	schema: string,
	component: string,
	migrations: readonly Migration[]
): Promise<number> {
	return inTransaction(sql, async tx => {
		await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
		await tx.unsafe(`create schema if not exists "${schema}"`);
		await tx`
			create table if not exists schema_migrations (
				component text not null,
				version integer not null,
				applied_at timestamptz not null default now(),
				primary key (component, version)
			)`;
		const [{ current }] = await tx<{ current: number }[]>`
			select coalesce(max(version), 0)::int as current
			from schema_migrations where component = ${component}`;
		for (let version = current + 1; version <= migrations.length; version++) {
			for (const statement of migrations[version - 1]) await tx.unsafe(statement);
			await tx`insert into schema_migrations (component, version) values (${component}, ${version})`;
		}
		return migrations.length;
	});
}

const migrated = new WeakMap<Sql, Map<string, Promise<unknown>>>();

/**
 * `migrate`, once per pool and component, for parts that migrate on first use rather than at the
 * service's start (scheduled runs, limits). A failed attempt is forgotten, so the next use retries.
 */
export function migrateOnce(
	sql: Sql,
	schema: string,
	component: string,
	migrations: readonly Migration[]
): Promise<unknown> {
	let done = migrated.get(sql);
	if (!done) migrated.set(sql, (done = new Map()));
	let pending = done.get(component);
	if (!pending) {
		pending = migrate(sql, schema, component, migrations);
		done.set(component, pending);
		pending.catch(() => done.delete(component));
	}
	return pending;
}

/** Epoch milliseconds as a timestamptz parameter (null stays null). */
export function toTimestamp(ms: number | null): Date | null {
	return ms === null ? null : new Date(ms);
}

/** A timestamptz column back in epoch milliseconds. */
export function fromTimestamp(value: Date | null): number | null {
	return value === null ? null : value.getTime();
}

/** SQLSTATE unique_violation, with the constraint it hit. */
export function uniqueViolation(err: unknown): string | null {
	const e = err as { code?: unknown; constraint_name?: unknown };
	if (e?.code !== "23505") return null;
	return typeof e.constraint_name === "string" ? e.constraint_name : "";
}

/**
 * A store on one PostgreSQL schema whose tables are its component's migrations: `ensureIndexes`
 * (what every store does at connect) brings them up to date.
 */
export abstract class MigratedStore {
	/** The name its migrations are recorded under in `schema_migrations` (bin/table-list reads both). */
	abstract readonly component: string;
	abstract readonly migrations: readonly Migration[];

	constructor(
		protected readonly sql: Sql,
		protected readonly schema: string
	) {}

	async ensureIndexes(): Promise<void> {
		await migrate(this.sql, this.schema, this.component, this.migrations);
	}

	/** Rows of `table` by id, batched (lib/store/lookup-batcher): one query for a burst of ids. */
	protected lookupsById<Row extends { id: string }>(table: string): LookupBatcher<Row> {
		return new LookupBatcher<Row>(
			ids => this.sql<Row[]>`select * from ${this.sql(table)} where id = any(${ids}::text[])`,
			row => [row.id]
		);
	}
}
