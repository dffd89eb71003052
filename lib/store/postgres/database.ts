/**
 * The shared PostgreSQL store (DATABASE_URL): one bounded connection pool per database and schema
 * in a process, shared by every storing service in it, handed to the stores as a `postgres` client.
 *
 * `PostgresAdapter` is the smallest moleculer-db adapter the db mixin needs (init, connect,
 * disconnect): moleculer-db keeps the lifecycle (connect at start, retried every second until the
 * server answers, `afterConnected`), the stores do every query themselves.
 */
import postgres from "postgres";
import type { Service, ServiceBroker } from "moleculer";
import { positiveWholeNumberFromEnv } from "../../config/env";

export type Sql = postgres.Sql;

/** A service's shared PostgreSQL pool and schema, for state kept beside its store. */
export interface SharedDatabase {
	sql: Sql;
	schema: string;
}

export interface DatabaseTarget {
	url: string;
	/** Schema the tables live in (created when missing); "public" unless DATABASE_SCHEMA says. */
	schema: string;
}

/** Connections per pool unless DATABASE_POOL_SIZE says: PostgreSQL's own default allows 100 in all. */
const DEFAULT_POOL_SIZE = 10;
/** Seconds to wait for a connection: a stopped server answers 503 within a request timeout. */
const CONNECT_TIMEOUT_S = 5;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Where DATABASE_URL and DATABASE_SCHEMA point, or null for the embedded store. */
export function databaseTargetFromEnv(
	env: NodeJS.ProcessEnv,
	overrides: { databaseUrl?: string; databaseSchema?: string } = {}
): DatabaseTarget | null {
	const url = overrides.databaseUrl ?? env.DATABASE_URL;
	if (!url) return null;
	const schema = overrides.databaseSchema ?? env.DATABASE_SCHEMA ?? "public";
	if (!SCHEMA_NAME.test(schema)) {
		throw new Error("DATABASE_SCHEMA must be a lower-case SQL identifier (a-z, 0-9, _).");
	}
	return { url, schema };
}

interface SharedPool {
	sql: Sql;
	users: number;
}

const pools = new Map<string, SharedPool>();

function keyOf(target: DatabaseTarget): string {
	return `${target.url}\u0000${target.schema}`;
}

function openPool(target: DatabaseTarget): Sql {
	return postgres(target.url, {
		max: positiveWholeNumberFromEnv(process.env, "DATABASE_POOL_SIZE", DEFAULT_POOL_SIZE),
		connect_timeout: CONNECT_TIMEOUT_S,
		idle_timeout: 60,
		// Every session starts in the project's schema; NOTICEs (e.g. "already exists") are not news.
		connection: { search_path: target.schema, application_name: "moleculer-tokens" },
		onnotice: () => undefined
	});
}

/** The process's pool for `target`, opened on first use; release it with `releasePool`. */
export function acquirePool(target: DatabaseTarget): Sql {
	const key = keyOf(target);
	let shared = pools.get(key);
	if (!shared) {
		shared = { sql: openPool(target), users: 0 };
		pools.set(key, shared);
	}
	shared.users++;
	return shared.sql;
}

/** Closes the pool once its last user let go (queries in flight are allowed to finish). */
export async function releasePool(target: DatabaseTarget): Promise<void> {
	const key = keyOf(target);
	const shared = pools.get(key);
	if (!shared) return;
	shared.users--;
	if (shared.users > 0) return;
	pools.delete(key);
	await shared.sql.end({ timeout: 5 });
}

/** moleculer-db's adapter lifecycle on a shared pool (see the module comment). */
export class PostgresAdapter {
	private held: Sql | null = null;

	constructor(readonly target: DatabaseTarget) {}

	/** The pool, once connected. */
	get sql(): Sql {
		if (!this.held) throw new Error("PostgreSQL adapter used before it connected");
		return this.held;
	}

	init(_broker: ServiceBroker, _service: Service): void {}

	/** Takes the pool and proves the server answers (moleculer-db retries until it does). */
	async connect(): Promise<void> {
		const sql = this.held ?? acquirePool(this.target);
		this.held = sql;
		await sql`select 1`;
	}

	async disconnect(): Promise<void> {
		if (!this.held) return;
		this.held = null;
		await releasePool(this.target);
	}
}
