/**
 * What a broker writes about itself, kept in memory so suites can assert what was (not) written: a
 * logger that records every line at every level, and a tracing exporter that records every span.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import {
	Loggers,
	TracerExporters,
	type BrokerOptions,
	type Context,
	type Errors,
	type ServiceBroker,
	type Span
} from "moleculer";
import brokerConfig from "../../moleculer.config";
import { rejection } from "./async";

/** A moleculer logger that keeps every line (trace and up) in memory. */
export class CapturingLogger extends Loggers.Base<{ level: "trace" }> {
	readonly lines: string[] = [];

	constructor() {
		super({ level: "trace" });
	}

	override getLogHandler(bindings: { mod?: string; nodeID?: string }) {
		return (level: string, args: unknown[]) => {
			const text = args
				.map(a => (typeof a === "string" ? a : inspect(a, { depth: 10, breakLength: 200 })))
				.join(" ");
			this.lines.push(`${level} ${bindings.nodeID ?? ""}/${bindings.mod ?? ""}: ${text}`);
		};
	}

	/** Every captured line, one per line. */
	text(): string {
		return this.lines.join("\n");
	}
}

/** A tracing exporter that keeps every started and finished span. */
export class CapturingSpanExporter extends TracerExporters.Base {
	readonly spans: Span[] = [];

	constructor() {
		super({});
	}

	override spanStarted(span: Span): void {
		this.spans.push(span);
	}

	override spanFinished(span: Span): void {
		if (!this.spans.includes(span)) this.spans.push(span);
	}

	/** Every span as JSON: name, tags, logs and error. */
	text(): string {
		return this.spans
			.map(s =>
				JSON.stringify({
					name: s.name,
					tags: s.tags,
					logs: s.logs,
					error:
						s.error instanceof Error
							? { ...s.error, message: s.error.message }
							: s.error
				})
			)
			.join("\n");
	}
}

/** What a secrets suite captured, each place a secret could leak to. */
export interface CapturedOutput {
	logs: CapturingLogger[];
	spans: CapturingSpanExporter[];
	errorBodies: string[];
	events: unknown[];
	/** Read when the test runs: the folder is made in `beforeAll`. */
	dataDir: () => string;
}

/** Each place a secret could leak to, as [name, its whole text]: for `it.each` in secrets suites. */
export function leakPlaces(captured: CapturedOutput): [string, () => string][] {
	return [
		["log line", () => captured.logs.map(l => l.text()).join("\n")],
		["trace span", () => captured.spans.map(s => s.text()).join("\n")],
		["error body", () => captured.errorBodies.join("\n")],
		["event payload", () => JSON.stringify(captured.events)],
		[
			"file in the data folder",
			() =>
				readdirSync(captured.dataDir())
					.map(f => readFileSync(join(captured.dataDir(), f), "utf8"))
					.join("\n")
		]
	];
}

/**
 * What the nodes of a secrets suite say, captured: a logger and a span exporter per node, the
 * bodies of the errors callers saw, and every event. `places()` lists them for the leak checks.
 */
export class LeakCapture implements CapturedOutput {
	readonly logs: CapturingLogger[];
	readonly spans: CapturingSpanExporter[];
	readonly errorBodies: string[] = [];
	readonly events: { name: string; payload: unknown }[] = [];

	constructor(
		nodes: number,
		readonly dataDir: () => string
	) {
		this.logs = Array.from({ length: nodes }, () => new CapturingLogger());
		this.spans = Array.from({ length: nodes }, () => new CapturingSpanExporter());
	}

	/**
	 * Options of node `i`: all its logs (debug and up) and every action and event span captured,
	 * also sent to any `moreExporters`.
	 */
	nodeOptions(
		i: number,
		node: { nodeID: string; namespace: string },
		moreExporters: object[] = []
	): Partial<BrokerOptions> {
		return {
			...node,
			transporter: "Fake",
			logger: this.logs[i],
			logLevel: "debug",
			tracing: {
				...(brokerConfig.tracing as object),
				enabled: true,
				actions: true,
				events: true,
				// moleculer accepts exporter instances; its types list only the built-in names.
				exporter: [this.spans[i], ...moreExporters] as unknown as "Console"[]
			}
		};
	}

	/** The caller's view of a call that must fail: everything that crossed the wire, kept. */
	async failure(promise: Promise<unknown>): Promise<Errors.MoleculerError> {
		const e = await rejection(promise);
		this.errorBodies.push(JSON.stringify({ ...e, name: e.name, message: e.message }));
		return e;
	}

	/** Keeps every event `broker` hears, from any node. */
	recordEvents(broker: ServiceBroker): void {
		broker.createService({
			name: "recorder",
			events: {
				"**": (ctx: Context) => {
					this.events.push({ name: ctx.eventName!, payload: ctx.params });
				}
			}
		});
	}

	places(): [string, () => string][] {
		return leakPlaces(this);
	}
}
