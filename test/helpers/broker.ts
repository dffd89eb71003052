/** Test brokers built from the project's own moleculer.config.ts, each with its own data folder. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServiceBroker, type BrokerOptions, type Context, type ServiceSchema } from "moleculer";
import brokerConfig from "../../moleculer.config";
import { RedactingValidator } from "../../lib/broker/redacting-validator";

export function createTestBroker(options: Partial<BrokerOptions> = {}): ServiceBroker {
	return new ServiceBroker({
		...brokerConfig,
		logger: false,
		// A validator per broker: validators keep a reference to their broker.
		validator: new RedactingValidator(),
		...options
	});
}

export function tempDataDir(prefix = "moleculer-tokens-"): string {
	return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
	rmSync(dir, { recursive: true, force: true });
}

/** The schema with `settings` merged over its own, e.g. to point it at a test data folder. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function withSettings<T extends ServiceSchema<any, any, any, any>>(
	schema: T,
	settings: Record<string, unknown>
): T {
	return { ...schema, settings: mergeSettings(schema.settings ?? {}, settings) };
}

/** A started test broker running this one service with `settings` over its own. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function startService<T extends ServiceSchema<any, any, any, any>>(
	schema: T,
	settings: Record<string, unknown>,
	options: Partial<BrokerOptions> = {}
): Promise<ServiceBroker> {
	const broker = createTestBroker(options);
	broker.createService(withSettings(schema, settings));
	await broker.start();
	return broker;
}

/** moleculer-db's CRUD actions, which no storing service publishes (tokens keeps its own `remove`). */
export const DB_CRUD_ACTIONS = [
	"list",
	"find",
	"count",
	"get",
	"create",
	"insert",
	"update",
	"remove"
];

export function expectNoCrudActions(broker: ServiceBroker, service: string, own: string[] = []) {
	const actions = broker.registry.getActionList({}).map(a => a.name);
	for (const crud of DB_CRUD_ACTIONS.filter(a => !own.includes(a))) {
		expect(actions).not.toContain(`${service}.${crud}`);
	}
}

/** As moleculer merges a mixin's settings: nested plain objects key by key, anything else replaced. */
function mergeSettings(
	base: Record<string, unknown>,
	over: Record<string, unknown>
): Record<string, unknown> {
	const merged: Record<string, unknown> = { ...base };
	for (const [key, value] of Object.entries(over)) {
		const current = merged[key];
		merged[key] =
			isPlainObject(value) && isPlainObject(current) ? mergeSettings(current, value) : value;
	}
	return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return (
		typeof value === "object" &&
		value !== null &&
		Object.getPrototypeOf(value) === Object.prototype
	);
}

/**
 * A fresh data folder for each test, and the environment as it was before the suite restored
 * after each: for suites that change TOKEN_SALT between broker starts.
 */
export function dataDirPerTest(): () => string {
	const saved = { ...process.env };
	let dir: string;
	beforeEach(() => {
		dir = tempDataDir();
	});
	afterEach(() => {
		process.env = { ...saved };
		removeDir(dir);
	});
	return () => dir;
}

/** Records every circuit the broker opens, so a suite can assert that none did. */
export function breakerWatch(broker: ServiceBroker): { opened: unknown[] } {
	const watch = { opened: [] as unknown[] };
	broker.createService({
		name: "breaker-watch",
		events: {
			"$circuit-breaker.opened"(ctx: Context) {
				watch.opened.push(ctx.params);
			}
		}
	} as ServiceSchema);
	return watch;
}
