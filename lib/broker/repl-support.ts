/** What the REPL's operator commands share: their output and how a failure prints. */
import type { ServiceBroker } from "moleculer";

export type Print = (line: string) => void;

/** Rows as an aligned plain-text table (first row: headings). */
export function formatTable(rows: string[][]): string[] {
	const widths = rows[0].map((_, col) => Math.max(...rows.map(r => (r[col] ?? "").length)));
	const line = (r: string[]) =>
		r
			.map((cell, col) => cell.padEnd(widths[col]))
			.join("  ")
			.trimEnd();
	return [line(rows[0]), widths.map(w => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)];
}

/** What moleculer-repl passes a custom command's action. */
export interface ReplArgs {
	options: Record<string, unknown>;
	owner?: string;
	login?: string;
	prefix?: string;
	reason?: string | string[];
}

export interface ReplCommand {
	command: string;
	description: string;
	options?: { option: string; description: string }[];
	action: (broker: ServiceBroker, args: ReplArgs) => Promise<void>;
}

/** Runs a command, printing a failure as one line instead of a stack. */
export function run(task: (print: Print) => Promise<unknown>): Promise<void> {
	const print: Print = line => console.log(line);
	return Promise.resolve()
		.then(() => task(print))
		.then(
			() => undefined,
			(err: { message?: string; code?: number; type?: string; data?: unknown }) => {
				const detail = Array.isArray(err.data)
					? ` (${err.data.map(d => (d as { message?: string }).message).join(" ")})`
					: "";
				print(`Failed: ${err.message ?? String(err)}${detail}`);
			}
		);
}
