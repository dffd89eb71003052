/**
 * Metrics and tracing options of the broker, from the environment (moleculer.config.ts).
 *
 * Metrics are off unless METRICS_PORT is set; then moleculer's Prometheus reporter serves them on
 * that port, on loopback unless METRICS_HOST says otherwise (they are unauthenticated: expose them to
 * a scraper on purpose, e.g. METRICS_HOST=0.0.0.0 inside a private network), never on the gateway's. Tracing is off unless
 * TRACING_EXPORTER names one of moleculer's exporters that needs no extra package: Console,
 * Zipkin (ZIPKIN_URL) or Event. Spans never carry parameters, meta or responses (they hold tokens).
 */
import type { BrokerOptions } from "moleculer";

export const TRACING_EXPORTERS = ["Console", "Zipkin", "Event"] as const;

export function metricsOptions(env: NodeJS.ProcessEnv): BrokerOptions["metrics"] {
	const raw = env.METRICS_PORT;
	if (raw === undefined || raw === "") return { enabled: false };
	const port = Number(raw);
	if (!Number.isInteger(port) || port < 0 || port > 65535) {
		throw new Error("METRICS_PORT must be a port number");
	}
	return {
		enabled: true,
		reporter: [
			{
				type: "Prometheus",
				options: {
					port,
					host: env.METRICS_HOST || "127.0.0.1",
					path: "/metrics",
					// The process's command line may carry secrets passed as arguments.
					excludes: ["process.arguments"]
				}
			}
		]
	};
}

export function tracingOptions(env: NodeJS.ProcessEnv): BrokerOptions["tracing"] {
	const tags = {
		action: { params: false, meta: false, response: false },
		event: { params: false, meta: false }
	};
	const exporter = env.TRACING_EXPORTER;
	if (exporter === undefined || exporter === "") return { enabled: false, tags };
	if (!(TRACING_EXPORTERS as readonly string[]).includes(exporter)) {
		throw new Error(`TRACING_EXPORTER must be one of ${TRACING_EXPORTERS.join(", ")}`);
	}
	const options =
		exporter === "Zipkin" ? { baseURL: env.ZIPKIN_URL || "http://127.0.0.1:9411" } : {};
	return {
		enabled: true,
		exporter: [{ type: exporter as (typeof TRACING_EXPORTERS)[number], options }],
		tags
	} as BrokerOptions["tracing"];
}
