/**
 * moleculer-cron's `crons: [...]` schema shape on the maintained `cron` package.
 *
 * moleculer-cron itself declares a peer range of moleculer ^0.11 (so a plain `npm install` refuses it
 * beside moleculer 0.15) and starts its jobs on the shared broker; this mixin keeps the jobs on the
 * service that declares them, starts them in `started` and stops them in `stopped`.
 * A job never overlaps itself: a tick that arrives while the previous run is still going is skipped.
 * Each tick is told the time it was scheduled for (the cron's, not the clock's), so nodes can agree
 * on which run it is.
 */
import { CronJob } from "cron";
import type { Service, ServiceSettingSchema } from "moleculer";
import { typedMixin } from "../lib/broker/typed-mixin";

export interface CronJobSchema<TThis = Service> {
	name: string;
	/** Five fields (minute first) or six (second first); a function reads it from settings. */
	cronTime: string | ((this: TThis) => string);
	timeZone?: string | ((this: TThis) => string | undefined);
	/** When false (or a function returning false), the job is not started on this node. */
	enabled?: boolean | ((this: TThis) => boolean);
	onTick: (this: TThis, scheduledAt: Date) => unknown;
}

export interface CronOwner {
	$cronJobs: Map<string, CronJob>;
	/** The scheduled job by name, e.g. to read `nextDate()` (moleculer-cron's `getJob`). */
	getJob(name: string): CronJob | undefined;
}

function resolve<T, TThis>(value: T | ((this: TThis) => T), self: TThis): T {
	return typeof value === "function" ? (value as (this: TThis) => T).call(self) : value;
}

const CronMixin = typedMixin<
	ServiceSettingSchema,
	Pick<CronOwner, "getJob">,
	Pick<CronOwner, "$cronJobs">
>({
	methods: {
		getJob(name: string): CronJob | undefined {
			return this.$cronJobs.get(name);
		}
	},

	created() {
		this.$cronJobs = new Map();
	},

	started() {
		for (const job of (this.schema.crons ?? []) as CronJobSchema[]) {
			if (resolve(job.enabled ?? true, this) === false) {
				this.logger.info(`Cron job '${job.name}' is disabled on this node.`);
				continue;
			}
			let running = false;
			let scheduledAt: Date | null = null;
			const cronJob: CronJob = CronJob.from({
				cronTime: resolve(job.cronTime, this),
				timeZone: resolve(job.timeZone, this),
				start: true,
				onTick: async () => {
					const at = scheduledAt ?? new Date();
					scheduledAt = cronJob.nextDate().toJSDate();
					if (running) {
						this.logger.warn(`Cron job '${job.name}' is still running: tick skipped.`);
						return;
					}
					running = true;
					try {
						await job.onTick.call(this, at);
					} catch (err) {
						this.logger.error(`Cron job '${job.name}' failed.`, err);
					} finally {
						running = false;
					}
				}
			});
			scheduledAt = cronJob.nextDate().toJSDate();
			this.$cronJobs.set(job.name, cronJob);
			this.logger.info(
				`Cron job '${job.name}' scheduled; next run ${cronJob.nextDate().toISO()}.`
			);
		}
	},

	stopped() {
		for (const job of this.$cronJobs.values()) job.stop();
		this.$cronJobs.clear();
	}
});

export default CronMixin;

/** When a service's nightly cleanup runs: `settings.cleanup`, read from `<PREFIX>_CLEANUP_*`. */
export interface CleanupSchedule {
	enabled: boolean;
	/** Five fields, minute first ("0 0 * * *" is midnight; "0 0 * * * *" would be every hour). */
	cronTime: string;
	timeZone: string;
}

export function cleanupScheduleFromEnv(
	prefix: string,
	defaultCronTime: string,
	env: NodeJS.ProcessEnv = process.env
): CleanupSchedule {
	return {
		enabled: env[`${prefix}_CLEANUP_ENABLED`] !== "false",
		cronTime: env[`${prefix}_CLEANUP_CRON`] || defaultCronTime,
		timeZone: env[`${prefix}_CLEANUP_TZ`] || "UTC"
	};
}

interface CleanupOwner {
	settings: { cleanup: CleanupSchedule };
	logger: Service["logger"];
	/** The db mixin's: whether this node does the run scheduled at that time (once per cluster). */
	claimScheduledRun(job: string, scheduledAt: Date): Promise<boolean>;
}

/**
 * A cron job that runs `onTick` on the service's `settings.cleanup` schedule. Every node schedules
 * it; on a shared store one node per scheduled time does the work.
 */
export function cleanupJob<TThis extends CleanupOwner>(
	name: string,
	onTick: (this: TThis) => unknown
): CronJobSchema<TThis> {
	return {
		name,
		cronTime(this: TThis) {
			return this.settings.cleanup.cronTime;
		},
		timeZone(this: TThis) {
			return this.settings.cleanup.timeZone;
		},
		enabled(this: TThis) {
			return this.settings.cleanup.enabled;
		},
		async onTick(this: TThis, scheduledAt: Date) {
			if (!(await this.claimScheduledRun(name, scheduledAt))) {
				this.logger.info(
					`Cron job '${name}': another node does the run of ${scheduledAt.toISOString()}.`
				);
				return;
			}
			await onTick.call(this);
		}
	};
}

/** Parameters of a cleanup action (`removeExpired`): an optional batch size. */
export const cleanupParams = {
	$$strict: true,
	batchSize: { type: "number", integer: true, positive: true, max: 100000, optional: true }
} as const;
