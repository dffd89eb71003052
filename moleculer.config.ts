/**
 * Broker configuration, read by moleculer-runner (`npm start`). Every fault-tolerance value this
 * project relies on is set here explicitly: moleculer's documented defaults differ from its source,
 * and its request timeout defaults to "wait forever".
 *
 * moleculer-runner also overrides root keys from the environment (TRANSPORTER, NAMESPACE, NODEID,
 * LOGLEVEL, ...); the variables below are read here so they work under jest and the benchmark too.
 */
import { join } from "node:path";
import type { BrokerOptions, Errors } from "moleculer";
import { RedactingValidator } from "./lib/broker/redacting-validator";
import SharedDeadlineMiddleware from "./lib/broker/shared-deadline.middleware";
import NullParamsMiddleware from "./lib/broker/null-params.middleware";
import TextParamsMiddleware from "./lib/broker/text-params.middleware";
import NatsWriteBatchingMiddleware from "./lib/broker/nats-write-batching.middleware";
import DrainMiddleware from "./lib/broker/drain.middleware";
import PortableParamsMiddleware from "./lib/broker/portable-params.middleware";
import {
	FailoverMiddleware,
	FailoverStrategy,
	RETRY_RETRYABLE_ERRORS
} from "./lib/broker/failover";
import { replCommands } from "./lib/broker/repl-commands";
import { metricsOptions, tracingOptions } from "./lib/broker/observability";

const env = process.env;

// moleculer-runner reads the config before it loads services, so `npm start` finds the compiled
// services (dist/services/*.service.js) and `SERVICES=tokens` resolves to dist/services/tokens/tokens.service.js.
env.SERVICEDIR ??= join(__dirname, "services");

// libuv's thread pool runs scrypt and the embedded store's file writes. Four threads (Node's
// default) let a few password checks hold up every write; auth admits only AUTH_HASH_CONCURRENCY
// hashes at once (lib/auth/hash-gate), and the pool is sized to leave threads for the store. Read when
// the pool first starts, which is after this file is loaded.
env.UV_THREADPOOL_SIZE ??= "8";

function numberFromEnv(name: string, fallback: number): number {
	const raw = env[name];
	if (raw === undefined || raw === "") return fallback;
	const value = Number(raw);
	if (!Number.isFinite(value) || value < 0)
		throw new Error(`${name} must be a non-negative number`);
	return value;
}

const brokerConfig: BrokerOptions = {
	namespace: env.NAMESPACE ?? "",
	nodeID: env.NODEID || null,

	// LOG_FORMAT=json: one JSON object per line (level, time, nodeID, module, msg) for a log
	// collector; otherwise moleculer's readable "full" lines.
	logger: {
		type: "Console",
		options: {
			colors: env.NO_COLOR === undefined && env.LOG_FORMAT !== "json",
			moduleColors: false,
			formatter: env.LOG_FORMAT === "json" ? "json" : "full",
			autoPadding: false
		}
	},
	logLevel: (env.LOGLEVEL as BrokerOptions["logLevel"]) ?? "info",

	// No TRANSPORTER: every service in this one process, called in memory.
	transporter: (env.TRANSPORTER || null) as BrokerOptions["transporter"],
	serializer: "JSON",

	// A call between services fails after this long instead of waiting forever.
	requestTimeout: numberFromEnv("REQUEST_TIMEOUT", 10_000),
	// Retry only errors moleculer marks retryable (lib/broker/failover). Actions that must not run
	// twice (generate, consume, refresh, pool assignment…) turn retries off for themselves.
	retryPolicy: RETRY_RETRYABLE_ERRORS,
	// Nodes say they are alive every 5 s and are dropped from the registry after 15 s of silence:
	// N nodes publish N/5 heartbeats a second (20 nodes: 4 published, 76 delivered a second). A node
	// that dies without saying so is not waited for that long: a call it leaves unanswered for
	// 0.5 s makes the caller ping it, and one that does not answer within 0.3 s is avoided at once
	// (lib/broker/failover). Shorter heartbeats would only drop a node that is merely busy sooner.
	heartbeatInterval: numberFromEnv("HEARTBEAT_INTERVAL", 5),
	heartbeatTimeout: numberFromEnv("HEARTBEAT_TIMEOUT", 15),

	// Graceful shutdown: stop taking requests, wait up to 10 s for the ones in flight.
	tracking: { enabled: true, shutdownTimeout: 10_000 },

	// Round-robin over the nodes this one does not suspect of having died (lib/broker/failover).
	registry: { strategy: FailoverStrategy, preferLocal: true },
	circuitBreaker: {
		enabled: true,
		threshold: 0.5,
		minRequestCount: 20,
		windowTime: 60,
		halfOpenTime: 10_000,
		// Only server-side failures trip the breaker, never a caller's bad request, nor a node
		// shedding load on purpose (503 BUSY: too many password checks at once). An open breaker
		// would refuse every sign-in, not just the excess.
		check: (err: Error) => {
			const e = err as Errors.MoleculerError;
			return (e.code ?? 500) >= 500 && e.type !== "BUSY";
		}
	},
	bulkhead: { enabled: false },

	contextParamsCloning: false,
	maxCallLevel: 100,

	validator: new RedactingValidator(),
	middlewares: [
		PortableParamsMiddleware,
		NullParamsMiddleware,
		TextParamsMiddleware,
		NatsWriteBatchingMiddleware,
		SharedDeadlineMiddleware,
		FailoverMiddleware(),
		DrainMiddleware
	],

	// Off unless METRICS_PORT is set (lib/broker/observability): Prometheus on a port of its own.
	metrics: metricsOptions(env),
	// Off unless TRACING_EXPORTER names an exporter (lib/broker/observability). Spans then carry no
	// parameters, meta or responses, which moleculer includes by default: they hold tokens,
	// passwords, salts passed by mistake and the plaintext of every new token (tokens.generate's
	// response). An action may opt in to named, harmless fields with its own
	// `tracing: { tags: { params: ["type"] } }`.
	tracing: tracingOptions(env),

	// Operator commands for `npm run repl` (tokens-stats, tokens-cleanup, tokens-list, tokens-revoke).
	replOptions: { customCommands: replCommands }
};

export = brokerConfig;
