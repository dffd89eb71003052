/**
 * Where every benchmark leaves its figures: bench-results/<name>.json, stamped with the date, the
 * Node.js version and the cores, and a chart beside it (<name>.svg) where the benchmark draws one.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

export function writeResults(name: string, figures: object, chart?: string): void {
	mkdirSync("bench-results", { recursive: true });
	const stamped = { date: new Date().toISOString(), node: process.version, cores: cpus().length };
	writeFileSync(
		join("bench-results", `${name}.json`),
		JSON.stringify({ ...stamped, ...figures }, null, 2) + "\n"
	);
	if (chart !== undefined) writeFileSync(join("bench-results", `${name}.svg`), chart);
	console.log(
		`written to bench-results/${name}.json${chart === undefined ? "" : ` and ${name}.svg`}`
	);
}
