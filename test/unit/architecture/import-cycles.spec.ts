/**
 * No import circles in the code, type-only imports included (ESLint's import-x/no-cycle, in
 * `npm run lint`, catches value imports; a type-only circle is harmless today, but the first value
 * import added along it would come back undefined at load time). The graph is read from the
 * sources' relative imports and exports.
 */
import { dirname, join, normalize } from "node:path";
import { readSource, sources } from "../../helpers/source-tree";

/** Each file's relative imports (and re-exports), resolved to files of the tree. */
function importGraph(): Map<string, string[]> {
	const files = ["services", "lib", "mixins", "bin", "moleculer.config.ts", "index.ts"]
		.flatMap(sources)
		.filter(f => f.endsWith(".ts"));
	const known = new Set(files);
	const graph = new Map<string, string[]>();
	for (const file of files) {
		const text = readSource(file);
		const targets = [...text.matchAll(/(?:import|export)[^;]*?from\s+"(\.[^"]+)"/g)]
			.map(m => normalize(join(dirname(file), m[1])))
			.map(t => [`${t}.ts`, join(t, "index.ts")].find(c => known.has(c)))
			.filter((t): t is string => t !== undefined);
		graph.set(file, targets);
	}
	return graph;
}

/** The strongly connected components of more than one file (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const found: string[][] = [];
	const visit = (v: string) => {
		index.set(v, index.size);
		low.set(v, index.get(v)!);
		stack.push(v);
		onStack.add(v);
		for (const w of graph.get(v) ?? []) {
			if (!index.has(w)) {
				visit(w);
				low.set(v, Math.min(low.get(v)!, low.get(w)!));
			} else if (onStack.has(w)) {
				low.set(v, Math.min(low.get(v)!, index.get(w)!));
			}
		}
		if (low.get(v) === index.get(v)) {
			const component: string[] = [];
			let w: string;
			do {
				w = stack.pop()!;
				onStack.delete(w);
				component.push(w);
			} while (w !== v);
			if (component.length > 1) found.push(component.sort());
		}
	};
	for (const v of graph.keys()) if (!index.has(v)) visit(v);
	return found;
}

describe("the import graph", () => {
	it("has no circle, type-only imports included", () => {
		const graph = importGraph();
		expect(graph.size).toBeGreaterThan(100);
		expect(circles(graph)).toEqual([]);
	});

	it("finds a circle when there is one", () => {
		const graph = new Map([
			["a.ts", ["b.ts"]],
			["b.ts", ["c.ts"]],
			["c.ts", ["a.ts"]],
			["d.ts", ["a.ts"]]
		]);
		expect(circles(graph)).toEqual([["a.ts", "b.ts", "c.ts"]]);
	});
});
