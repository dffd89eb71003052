/** Durations from settings and environment: a number of seconds, or "30s", "15m", "12h", "7d", "2w". */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const DURATION_PATTERN = /^(\d+)\s*([smhdw]?)$/;

/** Parses a duration into whole seconds. Throws on anything else, naming the offending value's source. */
export function parseDuration(value: string | number, source = "duration"): number {
	if (typeof value === "number") {
		if (!Number.isInteger(value) || value < 0) {
			throw new Error(`${source} must be a whole, non-negative number of seconds`);
		}
		return value;
	}
	const match = DURATION_PATTERN.exec(value.trim());
	if (!match) {
		throw new Error(`${source} must look like 3600, "30s", "15m", "12h", "7d" or "2w"`);
	}
	return Number(match[1]) * UNIT_SECONDS[match[2] || "s"];
}

/** Reads an optional duration from the environment, falling back to `fallback` seconds. */
export function durationFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
	const raw = env[name];
	return raw === undefined || raw === "" ? fallback : parseDuration(raw, name);
}
