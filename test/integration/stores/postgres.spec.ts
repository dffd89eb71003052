/**
 * The PostgreSQL store's own machinery, on the test server: migrations when several nodes start at
 * once, the typed schema, and which driver errors are an outage (a retryable 503) and which are not.
 */
import postgres from "postgres";
import { rejection } from "../../helpers/async";
import { isStoreUnavailable } from "../../../lib/store/store-errors";
import { acquirePool, releasePool } from "../../../lib/store/postgres/database";
import { migrate } from "../../../lib/store/postgres/migrations";
import { claimScheduledRun } from "../../../lib/store/postgres/postgres-scheduled-runs";
import { PostgresTokenStore } from "../../../lib/tokens/store/postgres-token-store";
import { PostgresUserStore } from "../../../lib/auth/store/postgres-user-store";
import {
	describeWithPostgres,
	dropSchema,
	TEST_DATABASE_URL,
	uniqueSchema
} from "../../helpers/postgres";

describeWithPostgres("PostgreSQL store", () => {
	const schema = uniqueSchema();
	const target = { url: TEST_DATABASE_URL, schema };
	let sql: postgres.Sql;

	beforeAll(() => {
		sql = acquirePool(target);
	});
	afterAll(async () => {
		await releasePool(target);
		await dropSchema(schema);
	});

	it("migrates once when eight nodes start at the same moment, and records the version", async () => {
		// Eight pools, as eight nodes would have; each runs the token and user migrations at once.
		const nodes = Array.from({ length: 8 }, () =>
			postgres(TEST_DATABASE_URL, {
				max: 2,
				connection: { search_path: schema },
				onnotice: () => undefined
			})
		);
		try {
			await Promise.all(
				nodes.flatMap(node => [
					new PostgresTokenStore(node, schema).ensureIndexes(),
					new PostgresUserStore(node, schema).ensureIndexes()
				])
			);
		} finally {
			await Promise.all(nodes.map(node => node.end()));
		}
		const versions = await sql<{ component: string; version: number }[]>`
			select component, version from schema_migrations order by component, version`;
		expect(versions).toEqual([
			{ component: "tokens", version: 1 },
			{ component: "users", version: 1 },
			{ component: "users", version: 2 },
			{ component: "users", version: 3 }
		]);
	});

	it("applies only the migrations not yet recorded", async () => {
		const steps = [[`create table m_test (a int)`], [`alter table m_test add column b text`]];
		await migrate(sql, schema, "m_test", steps.slice(0, 1));
		await migrate(sql, schema, "m_test", steps);
		await migrate(sql, schema, "m_test", steps);
		const columns = await sql`
			select column_name from information_schema.columns
			where table_schema = ${schema} and table_name = 'm_test' order by ordinal_position`;
		expect(columns.map(c => c.column_name)).toEqual(["a", "b"]);
	});

	it("types the columns for what they hold: timestamptz, jsonb, text[]", async () => {
		const columns = await sql<{ column_name: string; data_type: string }[]>`
			select column_name, data_type from information_schema.columns
			where table_schema = ${schema} and table_name = 'tokens'`;
		const types = Object.fromEntries(columns.map(c => [c.column_name, c.data_type]));
		expect(types).toMatchObject({
			hash: "text",
			scopes: "ARRAY",
			data: "jsonb",
			created_at: "timestamp with time zone",
			expires_at: "timestamp with time zone",
			last_used_at: "timestamp with time zone"
		});
		const indexes = await sql<{ indexdef: string }[]>`
			select indexdef from pg_indexes where schemaname = ${schema} and tablename = 'tokens'`;
		const defs = indexes.map(i => i.indexdef).join("\n");
		expect(defs).toMatch(/UNIQUE INDEX tokens_hash_key .*\(hash\)/);
		expect(defs).toMatch(/tokens_owner_idx .*\(owner, type, created_at\)/);
		expect(defs).toMatch(/tokens_expires_idx .*\(expires_at\) WHERE/);
	});

	it("gives each scheduled run to exactly one of many nodes claiming it at once", async () => {
		const at = new Date("2026-12-02T00:00:00Z");
		const claims = await Promise.all(
			Array.from({ length: 20 }, (_, i) =>
				claimScheduledRun(sql, schema, "tokens.removeExpired", at, `node-${i}`)
			)
		);
		expect(claims.filter(Boolean)).toHaveLength(1);
		const next = new Date("2026-12-03T00:00:00Z");
		expect(await claimScheduledRun(sql, schema, "tokens.removeExpired", next, "node-0")).toBe(
			true
		);
	});

	describe("errors", () => {
		it("a server that refuses connections is an outage", async () => {
			const down = postgres("postgres://postgres@127.0.0.1:1/test", { max: 1 });
			const err = await rejection(down`select 1`);
			await down.end({ timeout: 1 });
			expect(isStoreUnavailable(err)).toBe(true);
		});

		it("a connection the server terminates mid-query is an outage", async () => {
			const victim = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => undefined });
			const [{ pid }] = await victim<{ pid: number }[]>`select pg_backend_pid() as pid`;
			// `execute`: the client sends a query only once it is awaited, or asked to.
			const query = victim`select pg_sleep(5)`.execute();
			await new Promise(resolve => setTimeout(resolve, 200));
			await sql`select pg_terminate_backend(${pid})`;
			const err = await rejection(query);
			await victim.end({ timeout: 1 });
			expect(isStoreUnavailable(err)).toBe(true);
		});

		it("a wrong statement or a duplicate key is not an outage", async () => {
			expect(isStoreUnavailable(await rejection(sql`select * from no_such_table`))).toBe(
				false
			);
			await sql`create table dup_test (id int primary key)`;
			await sql`insert into dup_test values (1)`;
			expect(isStoreUnavailable(await rejection(sql`insert into dup_test values (1)`))).toBe(
				false
			);
		});
	});
});
