/**
 * The one place a suite may be skipped: a suite that needs a server of the machine (NATS,
 * PostgreSQL, the nats-server program) runs when it is there. Without it the suite is skipped
 * with a message naming what is missing, unless the variable that requires it is set to 1 (CI sets
 * REQUIRE_NATS and REQUIRE_POSTGRES), where the run fails instead: CI never skips.
 */
export interface Requirement {
	available: boolean;
	/** What is missing, for the message, e.g. "no NATS server answers at nats://…". */
	missing: string;
	/** The environment variable that makes the requirement mandatory. */
	requiredBy: string;
}

export function describeRequiring(requirement: Requirement, name: string, body: () => void): void {
	if (requirement.available) return describe(name, body);
	if (process.env[requirement.requiredBy] === "1") {
		throw new Error(`${requirement.missing}, and ${requirement.requiredBy}=1`);
	}
	console.warn(`Skipping "${name}": ${requirement.missing}.`);
	describe.skip(name, body);
}
