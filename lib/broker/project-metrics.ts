/**
 * The project's own metrics, beside moleculer's request and latency metrics (served by the
 * Prometheus reporter when METRICS_PORT is set). Labels never carry a token, an owner, an e-mail
 * or an address: only small fixed sets (types, results, methods), for privacy and cardinality.
 *
 * Each service registers what it counts in `created` and counts through `count`/`observe`, which
 * do nothing when metrics are off (the hot path then pays one boolean test).
 */
import type { ServiceBroker } from "moleculer";

interface MetricDefinition {
	type: "counter" | "histogram";
	description: string;
	labelNames: string[];
	buckets?: number[];
	/**
	 * Label sets a counter shows at 0 from the start: Prometheus' increase() cannot see the first
	 * event of a series that appears with it (an alert on the first refresh-token reuse would miss).
	 */
	series?: Record<string, string>[];
}

const each = (label: string, values: string[]) => values.map(value => ({ [label]: value }));

export const PROJECT_METRICS = {
	"mtk.tokens.operations.total": {
		type: "counter",
		description: "tokens generated, checked, consumed and removed, by type and result",
		labelNames: ["operation", "type", "result"]
	},
	"mtk.auth.sign_ins.total": {
		type: "counter",
		description: "sign-ins by method and result",
		labelNames: ["method", "result"]
	},
	"mtk.audit.entries.total": {
		type: "counter",
		description: "audit trail entries recorded, by type (the event name)",
		labelNames: ["type"]
	},
	"mtk.auth.passkeys.total": {
		type: "counter",
		description:
			"passkey ceremonies by operation (register, sign-in, remove) and result (added, valid, removed, or why refused)",
		labelNames: ["operation", "result"]
	},
	"mtk.auth.refreshes.total": {
		type: "counter",
		description:
			"refresh-token rotations: rotated, successor (reuse interval), reused, invalid",
		labelNames: ["result"],
		series: each("result", ["rotated", "successor", "reused", "invalid"])
	},
	"mtk.auth.code_failures.total": {
		type: "counter",
		description: "wrong e-mailed codes, TOTP codes and recovery codes",
		labelNames: ["kind"]
	},
	"mtk.limit_refusals.total": {
		type: "counter",
		description: "requests refused by an attempt or failure limit",
		labelNames: ["limit"]
	},
	"mtk.mail.total": {
		type: "counter",
		description: "mails sent and failed",
		labelNames: ["result"],
		series: each("result", ["sent", "failed"])
	},
	"mtk.mail.queue.total": {
		type: "counter",
		description:
			"mails through the JetStream queue: queued or not_queued (by auth), sent, duplicate, retried, dead",
		labelNames: ["outcome"],
		series: each("outcome", ["queued", "not_queued", "sent", "duplicate", "retried", "dead"])
	},
	"mtk.cleanup.runs.total": {
		type: "counter",
		description: "cleanup runs that removed expired records",
		labelNames: ["service"]
	},
	"mtk.cleanup.removed.total": {
		type: "counter",
		description: "expired records removed by cleanups",
		labelNames: ["service"]
	},
	"mtk.cleanup.duration.seconds": {
		type: "histogram",
		description: "how long each cleanup took",
		labelNames: ["service"],
		buckets: [0.01, 0.1, 1, 10, 60]
	},
	"mtk.store.errors.total": {
		type: "counter",
		description:
			"store errors by store and kind: unavailable (503), internal (500), caller_data (400)",
		labelNames: ["store", "kind"]
	}
} satisfies Record<string, MetricDefinition>;

export type ProjectMetric = keyof typeof PROJECT_METRICS;

/** Registers these metrics (once per broker) when metrics are on, so a scrape lists them early. */
export function registerMetrics(broker: ServiceBroker, names: ProjectMetric[]): void {
	if (!broker.isMetricsEnabled()) return;
	for (const name of names) ensure(broker, name);
}

function ensure(broker: ServiceBroker, name: ProjectMetric): void {
	if (broker.metrics.getMetric(name)) return;
	const { series, ...definition } = PROJECT_METRICS[name] as MetricDefinition;
	broker.metrics.register({ name, ...definition } as never);
	for (const labels of series ?? []) broker.metrics.increment(name, labels, 0);
}

/** Counts not yet added to moleculer's registry, per broker: added together once per loop turn. */
const pendingCounts = new WeakMap<ServiceBroker, Map<string, PendingCount>>();

interface PendingCount {
	name: ProjectMetric;
	labels: Record<string, string>;
	value: number;
}

/**
 * Adds `value` to a counter. Counts of one event-loop turn are summed here and handed to moleculer's
 * registry once (a registry increment hashes the labels twice and notifies every reporter): on the
 * check's path that was 6% of its instructions. A scrape sees them after the turn that counted.
 */
export function count(
	broker: ServiceBroker,
	name: ProjectMetric,
	labels: Record<string, string>,
	value = 1
): void {
	if (!broker.isMetricsEnabled()) return;
	let pending = pendingCounts.get(broker);
	if (!pending) {
		pending = new Map();
		pendingCounts.set(broker, pending);
		setImmediate(() => flushCounts(broker));
	}
	let key: string = name;
	for (const label in labels) key += `\0${labels[label]}`;
	const entry = pending.get(key);
	if (entry) entry.value += value;
	else pending.set(key, { name, labels, value });
}

function flushCounts(broker: ServiceBroker): void {
	const pending = pendingCounts.get(broker);
	pendingCounts.delete(broker);
	if (!pending || !broker.isMetricsEnabled()) return;
	for (const { name, labels, value } of pending.values()) {
		ensure(broker, name);
		broker.metrics.increment(name, labels, value);
	}
}

export function observe(
	broker: ServiceBroker,
	name: ProjectMetric,
	labels: Record<string, string>,
	value: number
): void {
	if (!broker.isMetricsEnabled()) return;
	ensure(broker, name);
	broker.metrics.observe(name, value, labels);
}

/** One cleanup run: its count, what it removed, how long it took. */
export function countCleanup(
	broker: ServiceBroker,
	service: string,
	removed: number,
	durationMs: number
): void {
	const labels = { service };
	count(broker, "mtk.cleanup.runs.total", labels);
	count(broker, "mtk.cleanup.removed.total", labels, removed);
	observe(broker, "mtk.cleanup.duration.seconds", labels, durationMs / 1000);
}
