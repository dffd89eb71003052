/**
 * The Grafana dashboard and the alert rules name only metrics the project exports (a renamed
 * metric would leave a panel or an alert silently empty).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_METRICS } from "../../../lib/broker/project-metrics";

const exported = new Set(
	Object.entries(PROJECT_METRICS).flatMap(([name, def]) => {
		const base = name.replace(/\./g, "_");
		return def.type === "histogram"
			? [`${base}_bucket`, `${base}_sum`, `${base}_count`]
			: [base];
	})
);
const ops = (file: string) => readFileSync(join(__dirname, "../../../ops", file), "utf8");

describe("ops files", () => {
	it.each(["grafana-dashboard.json", "alert-rules.yml"])(
		"%s names only exported metrics",
		file => {
			const names = [...new Set(ops(file).match(/\bmtk_[a-z_]+/g) ?? [])];
			expect(names.length).toBeGreaterThan(3);
			expect(names.filter(n => !exported.has(n))).toEqual([]);
		}
	);

	it("the dashboard is a Grafana dashboard with a panel per metric family", () => {
		const dashboard = JSON.parse(ops("grafana-dashboard.json")) as {
			panels: { targets: { expr: string }[] }[];
		};
		const used = new Set(
			dashboard.panels.flatMap(p =>
				p.targets.map(t => /\bmtk_[a-z]+_[a-z_]+?(?=_total|\b)/.exec(t.expr)?.[0])
			)
		);
		expect(dashboard.panels.length).toBeGreaterThanOrEqual(9);
		expect(used.size).toBeGreaterThanOrEqual(8);
	});
});
