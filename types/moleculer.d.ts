/**
 * moleculer 0.15's ServiceSchema has no index signature, so schema keys that mixins read must be
 * declared: moleculer-db's `adapter`, `collection` and `afterConnected`, and the cron mixin's `crons`.
 */
import "moleculer";
import type { CronJobSchema } from "../mixins/cron.mixin";

declare module "moleculer" {
	interface ServiceSchema<TSettings, TMethods, TVars, TThis> {
		adapter?: unknown;
		collection?: string;
		afterConnected?: (this: TThis) => void | Promise<void>;
		crons?: CronJobSchema<TThis>[];
		merged?: (schema: ServiceSchema<TSettings, TMethods, TVars, TThis>) => void;
	}
}
