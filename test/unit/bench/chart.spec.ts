import { chartSvg } from "../../../bench/chart";

describe("benchmark charts", () => {
	const svg = chartSvg("tokens <check> & co", [
		{ label: "pgbench (ceiling)", perSecond: 20_000, p99ms: NaN },
		{ label: "check", perSecond: 10_000, p99ms: 4 },
		{ label: "generate", perSecond: 5_000, p99ms: 8 }
	]);
	const widths = [...svg.matchAll(/<rect class="rate" x="\d+" y="\d+" width="(\d+)"/g)].map(m =>
		Number(m[1])
	);

	it("draws throughput bars in proportion, the ceiling the longest", () => {
		expect(widths).toEqual([260, 130, 65]);
	});

	it("makes room for the longest label", () => {
		const long = chartSvg("t", [{ label: "x".repeat(100), perSecond: 1, p99ms: 1 }]);
		expect(long).toMatch(/<rect class="rate" x="676"/);
	});

	it("draws a p99 bar only where there is one, and escapes every label", () => {
		expect(svg.match(/class="p99"/g)).toHaveLength(2);
		expect(svg).toContain("tokens &#60;check&#62; &#38; co");
		expect(svg).not.toContain("<check>");
		expect(svg.startsWith("<svg")).toBe(true);
		expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
	});
});
