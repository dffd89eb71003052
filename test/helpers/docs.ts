import { execFileSync } from "node:child_process";
import { join } from "node:path";
/** The docs' runnable examples: the code block that follows `<!-- runnable: name -->`. */
export function runnableBlock(markdown: string, name: string, language = "bash"): string {
	const marker = markdown.indexOf(`<!-- runnable: ${name} -->`);
	if (marker === -1) throw new Error(`No runnable block '${name}'`);
	const fence = `\`\`\`${language}\n`;
	const start = markdown.indexOf(fence, marker) + fence.length;
	return markdown.slice(start, markdown.indexOf("\n```", start));
}

/** `text` as Prettier formats a file at `path` (run as a program: jest cannot load Prettier 3). */
export function prettierFormatted(root: string, path: string, text: string): string {
	return execFileSync(
		process.execPath,
		[join(root, "node_modules/prettier/bin/prettier.cjs"), "--stdin-filepath", path],
		{ cwd: root, input: text, encoding: "utf8" }
	);
}
