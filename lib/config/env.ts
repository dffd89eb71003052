/**
 * Reading the environment: every `*FromEnv` helper of the project lives here (secrets and salts in
 * secrets.ts, durations in durations.ts), each naming the variable in any error.
 */
/** Whole numbers from the environment (limits, counts), with the variable named in any error. */
export function wholeNumberFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
	const raw = env[name];
	if (raw === undefined || raw === "") return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < 0) {
		throw new Error(`${name} must be a whole, non-negative number`);
	}
	return value;
}

/** A positive whole number (attempt limits, queue sizes): 0 is refused. */
export function positiveWholeNumberFromEnv(
	env: NodeJS.ProcessEnv,
	name: string,
	fallback: number
): number {
	const raw = env[name];
	if (raw === undefined || raw === "") return fallback;
	if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
		throw new Error(`${name} must be a positive whole number`);
	}
	return Number(raw);
}

/** A comma-separated list, trimmed, without empty entries. */
export function listFromEnv(env: NodeJS.ProcessEnv, name: string): string[] {
	return (env[name] ?? "")
		.split(",")
		.map(s => s.trim())
		.filter(Boolean);
}

/** The folder of the embedded store, secrets created for development, and the mail outbox. */
export function dataDirFromEnv(env: NodeJS.ProcessEnv): string {
	return env.DATA_DIR || "./data";
}

export function isProduction(env: NodeJS.ProcessEnv): boolean {
	return env.NODE_ENV === "production";
}

/** The base URL of the links in mails and of the OpenAPI `servers` entry, without a trailing slash. */
export function publicUrlFromEnv(env: NodeJS.ProcessEnv): string {
	return (env.PUBLIC_URL || "http://localhost:3000").replace(/\/+$/, "");
}
