/**
 * Source file names are unique across the tree, so a search, an import or a stack trace naming one
 * is never ambiguous (issue 31).
 */
import { basename } from "node:path";
import { sources } from "../../helpers/source-tree";

it("no two source files share a name", () => {
	const byName = new Map<string, string[]>();
	for (const file of ["services", "lib", "mixins"].flatMap(sources)) {
		if (!file.endsWith(".ts")) continue;
		byName.set(basename(file), [...(byName.get(basename(file)) ?? []), file]);
	}
	expect([...byName.values()].filter(files => files.length > 1)).toEqual([]);
	expect(byName.size).toBeGreaterThan(100);
});
