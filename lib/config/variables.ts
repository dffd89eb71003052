import registry from "./variables.json";

/**
 * Every environment variable the project reads (the data in variables.json): the one registry from which .env.example and
 * docs/configuration.md are generated (`npm run docs:generate`), and against which a test holds the
 * code (a variable read anywhere but not listed here fails it). `example` is the line's value in
 * .env.example; `about` its comment, shared by the variables that follow it without one of their own.
 */
export interface EnvVariable {
	name: string;
	example: string;
	about: string[];
}

export interface EnvGroup {
	title: string;
	variables: EnvVariable[];
}

export const ENV_HEADER: string[] = registry.header;

export const ENV_GROUPS: EnvGroup[] = registry.groups;

/** Every variable by name. */
export function allVariables(): EnvVariable[] {
	return ENV_GROUPS.flatMap(g => g.variables);
}

/** A value as a shell line needs it: quoted when it holds a space or a shell character. */
function shellValue(value: string): string {
	return /[\s*$`"'\\;&|<>()]/.test(value) ? `"${value.replace(/(["\\$`])/g, "\\$1")}"` : value;
}

/** .env.example, as committed: every group, each variable with its comment and example value. */
export function renderEnvExample(): string {
	const out = ENV_HEADER.map(line => `# ${line}`);
	for (const group of ENV_GROUPS) {
		out.push("", `# --- ${group.title} ---`);
		for (const variable of group.variables) {
			for (const line of variable.about) out.push(line === "" ? "#" : `# ${line}`);
			out.push(`${variable.name}=${shellValue(variable.example)}`);
		}
	}
	return `${out.join("\n")}\n`;
}

/** docs/configuration.md: the same, as a reference page with a table per group. */
export function renderConfigurationDoc(): string {
	const cell = (text: string) => text.replace(/\|/g, "\\|");
	const out = [
		"# Configuration",
		"",
		"Every environment variable the project reads, generated from `lib/config/variables.ts`",
		"(`npm run docs:generate`), as is [`.env.example`](../.env.example); a test fails when the code",
		"reads a variable that is not listed there, or when this page or `.env.example` is out of date."
	];
	for (const group of ENV_GROUPS) {
		out.push(
			"",
			`## ${group.title}`,
			"",
			"| variable | example | meaning |",
			"| --- | --- | --- |"
		);
		let about: string[] = [];
		for (const variable of group.variables) {
			if (variable.about.length > 0) about = variable.about;
			const example = variable.example === "" ? "" : `\`${cell(variable.example)}\``;
			out.push(`| \`${variable.name}\` | ${example} | ${cell(about.join(" "))} |`);
		}
	}
	return `${out.join("\n")}\n`;
}
