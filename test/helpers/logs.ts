/**
 * What a broker writes about itself, kept in memory so suites can assert what was (not) written: a
 * logger that records every line at every level, and a tracing exporter that records every span.
 */
import { inspect } from "node:util";
import { Loggers, TracerExporters, type Span } from "moleculer";

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
