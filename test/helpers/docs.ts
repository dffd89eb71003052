/** The docs' runnable examples: the code block that follows `<!-- runnable: name -->`. */
export function runnableBlock(markdown: string, name: string, language = "bash"): string {
	const marker = markdown.indexOf(`<!-- runnable: ${name} -->`);
	if (marker === -1) throw new Error(`No runnable block '${name}'`);
	const fence = `\`\`\`${language}\n`;
	const start = markdown.indexOf(fence, marker) + fence.length;
	return markdown.slice(start, markdown.indexOf("\n```", start));
}
