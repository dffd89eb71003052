/**
 * What a broker writes about itself, kept in memory so suites can assert what was (not) written: a
 * logger that records every line at every level, and a tracing exporter that records every span.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { Loggers, TracerExporters, type BrokerOptions, type Errors, type Span } from "moleculer";
import brokerConfig from "../../moleculer.config";

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
 * Options of a node whose every word a secrets suite reads: all its logs (debug and up) into
 * `logger`, every action and event span into `spans`, and into any `moreExporters`.
 */
export function capturedNodeOptions(
	node: { nodeID: string; namespace: string },
	logger: CapturingLogger,
	spans: CapturingSpanExporter,
	moreExporters: object[] = []
): Partial<BrokerOptions> {
	return {
		...node,
		transporter: "Fake",
		logger,
		logLevel: "debug",
		tracing: {
			...(brokerConfig.tracing as object),
			enabled: true,
			actions: true,
			events: true,
			// moleculer accepts exporter instances; its types list only the built-in names.
			exporter: [spans, ...moreExporters] as unknown as "Console"[]
		}
	};
}

/** The caller's view of a call that must fail: everything that crossed the wire, kept in `bodies`. */
export async function failureOf(
	promise: Promise<unknown>,
	bodies: string[]
): Promise<Errors.MoleculerError> {
	try {
		await promise;
	} catch (err) {
		const e = err as Errors.MoleculerError;
		bodies.push(JSON.stringify({ ...e, name: e.name, message: e.message }));
		return e;
	}
	throw new Error("expected the call to fail");
}
