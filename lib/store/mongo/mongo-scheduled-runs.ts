/**
 * Scheduled jobs once per cluster on MongoDB, as lib/store/postgres/postgres-scheduled-runs does on
 * PostgreSQL: the first node to insert (job, scheduled time) into `scheduled_runs` does the work;
 * the unique `_id` refuses every other node's insert.
 */
import type { MongoCollection } from "./collection";

export interface ScheduledRunDocument {
	_id: string;
	job: string;
	scheduledAt: Date;
	nodeId: string;
	startedAt: Date;
}

/** MongoDB's duplicate-key error. */
const DUPLICATE_KEY = 11000;
/** Runs older than this are forgotten when a new run is claimed. */
const KEEP_RUNS_MS = 30 * 24 * 3600 * 1000;

export async function claimScheduledRunOnMongo(
	runs: MongoCollection<ScheduledRunDocument>,
	job: string,
	scheduledAt: Date,
	nodeId: string
): Promise<boolean> {
	try {
		await runs.insertOne({
			_id: `${job}@${scheduledAt.toISOString()}`,
			job,
			scheduledAt,
			nodeId,
			startedAt: new Date()
		});
	} catch (err) {
		if ((err as { code?: number }).code === DUPLICATE_KEY) return false;
		throw err;
	}
	await runs.deleteMany({
		job,
		scheduledAt: { $lt: new Date(scheduledAt.getTime() - KEEP_RUNS_MS) }
	});
	return true;
}
