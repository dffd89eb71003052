/** A closed-loop load generator: `concurrency` callers, each awaiting one call after another. */
export interface LoadResult {
	ops: number;
	seconds: number;
	perSecond: number;
	p50ms: number;
	p99ms: number;
	errors: number;
}

export async function runLoad(
	durationMs: number,
	concurrency: number,
	call: (i: number) => Promise<unknown>
): Promise<LoadResult> {
	const latencies: number[] = [];
	let errors = 0;
	let counter = 0;
	const started = performance.now();
	const deadline = started + durationMs;
	async function worker(): Promise<void> {
		let calls = 0;
		while (performance.now() < deadline) {
			// Real requests arrive through I/O. A closed loop of calls that resolve without I/O would
			// otherwise run as one endless microtask chain and starve timers and I/O (e.g. the
			// buffered "last used" writes, or a cleanup running beside the load).
			if ((++calls & 15) === 0) await new Promise(resolve => setImmediate(resolve));
			const t0 = performance.now();
			try {
				await call(counter++);
			} catch {
				errors++;
			}
			latencies.push(performance.now() - t0);
		}
	}
	await Promise.all(Array.from({ length: concurrency }, worker));
	const seconds = (performance.now() - started) / 1000;
	latencies.sort((a, b) => a - b);
	const at = (q: number) =>
		latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
	return {
		ops: latencies.length,
		seconds,
		perSecond: latencies.length / seconds,
		p50ms: at(0.5),
		p99ms: at(0.99),
		errors
	};
}

/** A latency, or "-" for a row that has none (a ceiling measured by another tool). */
function millis(ms: number): string {
	return Number.isFinite(ms) ? ms.toFixed(3) : "-";
}

export function formatTable(rows: { name: string; result: LoadResult; target?: string }[]): string {
	const header = ["benchmark", "ops/s", "p50 ms", "p99 ms", "ops", "errors", "target"];
	const lines = rows.map(r => [
		r.name,
		Math.round(r.result.perSecond).toLocaleString("en-US"),
		millis(r.result.p50ms),
		millis(r.result.p99ms),
		String(r.result.ops),
		String(r.result.errors),
		r.target ?? ""
	]);
	const widths = header.map((h, i) => Math.max(h.length, ...lines.map(l => l[i].length)));
	const fmt = (cells: string[]) =>
		cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
	return [fmt(header), widths.map(w => "-".repeat(w)).join("  "), ...lines.map(fmt)].join("\n");
}
