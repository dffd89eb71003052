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
