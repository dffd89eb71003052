/**
 * PostgreSQL for the store suites and the cluster suite. jest's global setup (test/global-setup.ts)
 * probes the server once: without one, the PostgreSQL halves are skipped with a message, unless
 * REQUIRE_POSTGRES=1 (set by .ci/run), where the whole run fails instead. Each suite (each store
 * started, in the contract suites) gets a schema of its own, dropped when it stops.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { describeRequiring } from "./requirements";

export const TEST_DATABASE_URL =
	process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";

export async function postgresAnswers(url = TEST_DATABASE_URL): Promise<boolean> {
	const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => undefined });
	try {
		await sql`select 1`;
		return true;
	} catch {
		return false;
	} finally {
		await sql.end({ timeout: 1 });
	}
}

export function postgresAvailable(): boolean {
	return process.env.POSTGRES_AVAILABLE === "1";
}

/** The store kinds a contract suite runs on: NeDB always, PostgreSQL when it answers. */
export function postgresKinds<K extends string>(suite: string): K[] {
	if (postgresAvailable()) return ["postgres" as K];
	console.warn(
		`Skipping the PostgreSQL half of ${suite}: no server answers at ${TEST_DATABASE_URL}.`
	);
	return [];
}

/** `describe` for suites that need PostgreSQL (see above). */
export function describeWithPostgres(name: string, body: () => void): void {
	const requirement = {
		available: postgresAvailable(),
		missing: `no PostgreSQL answers at ${TEST_DATABASE_URL}`,
		requiredBy: "REQUIRE_POSTGRES"
	};
	describeRequiring(requirement, name, body);
}

export function uniqueSchema(prefix = "t"): string {
	return `${prefix}_${randomBytes(6).toString("hex")}`;
}

export async function dropSchema(schema: string, url = TEST_DATABASE_URL): Promise<void> {
	const sql = postgres(url, { max: 1, onnotice: () => undefined });
	try {
		await sql.unsafe(`drop schema if exists "${schema}" cascade`);
	} finally {
		await sql.end({ timeout: 5 });
	}
}
