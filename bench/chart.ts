/**
 * An SVG chart of one benchmark run, written beside its JSON: throughput and p99 latency per
 * figure, ceilings (a row named "… (ceiling)") in their own colour next to what they bound.
 * Plain SVG, no library: two sets of horizontal bars on a shared list of labels.
 */
export interface ChartBar {
	label: string;
	perSecond: number;
	p99ms: number;
}

const ROW = 22;
/** Width of a character of the 12 px labels, roughly: the labels' column fits the longest. */
const CHAR_WIDTH = 6.6;
const BAR_WIDTH = 260;
const GAP = 40;

function escapeXml(text: string): string {
	return text.replace(/[<>&"']/g, c => `&#${c.charCodeAt(0)};`);
}

function finite(n: number): number {
	return Number.isFinite(n) && n > 0 ? n : 0;
}

export function chartSvg(title: string, bars: readonly ChartBar[]): string {
	const top = 50;
	const height = top + bars.length * ROW + 30;
	const labelWidth = Math.ceil(Math.max(200, ...bars.map(b => b.label.length * CHAR_WIDTH)) + 16);
	const width = labelWidth + 2 * BAR_WIDTH + GAP + 140;
	const maxRate = Math.max(1, ...bars.map(b => finite(b.perSecond)));
	const maxP99 = Math.max(1, ...bars.map(b => finite(b.p99ms)));
	const xRate = labelWidth;
	const xP99 = labelWidth + BAR_WIDTH + GAP + 60;
	const parts = [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui,sans-serif" font-size="12">`,
		`<title>${escapeXml(title)}</title>`,
		`<rect width="100%" height="100%" fill="#fff"/>`,
		`<text x="8" y="20" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
		`<text x="${xRate}" y="40" fill="#333">throughput (per second)</text>`,
		`<text x="${xP99}" y="40" fill="#333">p99 latency (ms)</text>`
	];
	bars.forEach((bar, i) => {
		const y = top + i * ROW;
		const ceiling = /\(ceiling\)/.test(bar.label);
		const colour = ceiling ? "#9aa5b1" : "#2b6cb0";
		const rate = finite(bar.perSecond);
		const p99 = finite(bar.p99ms);
		const rateWidth = Math.round((rate / maxRate) * BAR_WIDTH);
		const p99Width = Math.round((p99 / maxP99) * BAR_WIDTH);
		parts.push(
			`<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${escapeXml(bar.label)}</text>`,
			`<rect class="rate" x="${xRate}" y="${y + 3}" width="${rateWidth}" height="${ROW - 8}" fill="${colour}"/>`,
			`<text x="${xRate + rateWidth + 4}" y="${y + 14}">${Math.round(rate).toLocaleString("en-US")}</text>`
		);
		if (p99 > 0) {
			parts.push(
				`<rect class="p99" x="${xP99}" y="${y + 3}" width="${p99Width}" height="${ROW - 8}" fill="${ceiling ? colour : "#c05621"}"/>`,
				`<text x="${xP99 + p99Width + 4}" y="${y + 14}">${p99.toFixed(p99 < 10 ? 2 : 1)}</text>`
			);
		}
	});
	parts.push(
		`<text x="8" y="${height - 10}" fill="#666">grey: a ceiling measured in the same run</text>`,
		"</svg>"
	);
	return parts.join("\n") + "\n";
}
