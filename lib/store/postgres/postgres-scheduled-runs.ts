/**
 * Scheduled jobs once per cluster: every node schedules the nightly cleanup, and the first node to
 * record (job, scheduled time) in `scheduled_runs` does the work; the others see the row and skip.
 * A primary key decides it, so it holds however many nodes tick at once, and a node whose clock is
 * a few seconds off still names the same scheduled time (the cron's, not the clock's).
 */
import type { Sql } from "./database";
import { migrateOnce, type Migration } from "./migrations";

export const COMPONENT = "scheduled_runs";
export const MIGRATIONS: Migration[] = [
	[
		`create table scheduled_runs (
			job text not null,
			scheduled_at timestamptz not null,
			node_id text not null,
			started_at timestamptz not null default now(),
			primary key (job, scheduled_at)
		)`
	]
];

/** Rows older than this are forgotten when a new run is claimed. */
const KEEP_RUNS_MS = 30 * 24 * 3600 * 1000;

export async function claimScheduledRun(
	sql: Sql,
	schema: string,
	job: string,
	scheduledAt: Date,
	nodeId: string
): Promise<boolean> {
	await migrateOnce(sql, schema, COMPONENT, MIGRATIONS);
	const rows = await sql`
		insert into scheduled_runs (job, scheduled_at, node_id)
		values (${job}, ${scheduledAt}, ${nodeId})
		on conflict do nothing returning job`;
	if (rows.length === 1) {
		await sql`delete from scheduled_runs
			where job = ${job} and scheduled_at < ${new Date(scheduledAt.getTime() - KEEP_RUNS_MS)}`;
	}
	return rows.length === 1;
}
