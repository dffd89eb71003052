/** The checkout's own files, for the suites that read the code itself (names, imports, errors). */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const REPO_ROOT = join(__dirname, "../..");

/** Every file under `path` (relative to the checkout), or `path` itself when it is a file. */
export function sources(path: string): string[] {
	const full = join(REPO_ROOT, path);
	if (statSync(full).isFile()) return [path];
	return readdirSync(full).flatMap(name => sources(join(path, name)));
}

/** A file of the checkout, as text. */
export function readSource(path: string): string {
	return readFileSync(join(REPO_ROOT, path), "utf8");
}
