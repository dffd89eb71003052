/**
 * Whether a moleculer logger would print a level. moleculer gives every level a function, printing
 * or not, so a message that is costly to build (the gateway masks tokens out of every request URL)
 * is built for nothing unless its level is checked first.
 */
const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"];

interface Appender {
	getLogLevel?(mod: string): string | null;
}

/**
 * True when one of the logger's appenders takes `level` for module `mod` (a service's full name).
 * When that cannot be told (no appender information), true: better a wasted message than a lost one.
 */
export function logLevelEnabled(logger: unknown, mod: string, level: string): boolean {
	const wanted = LEVELS.indexOf(level);
	if (wanted === -1) return false;
	const appenders = (logger as { appenders?: Appender[] }).appenders;
	if (!Array.isArray(appenders)) return true;
	return appenders.some(appender => {
		if (typeof appender.getLogLevel !== "function") return true;
		const configured = appender.getLogLevel(mod);
		return configured != null && wanted <= LEVELS.indexOf(configured);
	});
}
