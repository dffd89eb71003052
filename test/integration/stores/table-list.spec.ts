/**
 * The list of PostgreSQL tables (bin/table-list.ts, docs/tables.md) against the migrations: the
 * page is what `npm run docs:generate` writes, and applying every component's migrations to a
 * fresh schema creates exactly the tables listed, each component at its last version.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COMPONENTS, renderTableList, tableList } from "../../../bin/table-list";
import { acquirePool, releasePool } from "../../../lib/store/postgres/database";
import { migrate } from "../../../lib/store/postgres/migrations";
import { prettierFormatted } from "../../helpers/docs";
import {
	describeWithPostgres,
	dropSchema,
	TEST_DATABASE_URL,
	uniqueSchema
} from "../../helpers/postgres";

const root = join(__dirname, "../../..");

it("docs/tables.md is what npm run docs:generate writes", () => {
	expect(readFileSync(join(root, "docs/tables.md"), "utf8")).toBe(
		prettierFormatted(root, "docs/tables.md", renderTableList())
	);
});

it("lists each table once, each component once, with the migration that creates it", () => {
	const rows = tableList();
	expect(new Set(rows.map(r => r.table)).size).toBe(rows.length);
	expect(new Set(COMPONENTS.map(c => c.module.COMPONENT)).size).toBe(COMPONENTS.length);
	expect(rows.find(r => r.table === "users")).toMatchObject({
		owner: "auth",
		component: "users",
		created: 1,
		changed: [2, 3]
	});
});

describeWithPostgres("the table list on PostgreSQL", () => {
	const schema = uniqueSchema("tables");
	const target = { url: TEST_DATABASE_URL, schema };

	afterAll(async () => {
		await releasePool(target);
		await dropSchema(schema);
	});

	it("is the schema the migrations make", async () => {
		const sql = acquirePool(target);
		for (const { module } of COMPONENTS) {
			await migrate(sql, schema, module.COMPONENT, module.MIGRATIONS);
		}
		const tables = await sql<{ table_name: string }[]>`
			select table_name from information_schema.tables where table_schema = ${schema}`;
		expect(tables.map(t => t.table_name).sort()).toEqual(
			[...tableList().map(r => r.table), "schema_migrations"].sort()
		);
		const versions = await sql<{ component: string; version: number }[]>`
			select component, max(version)::int as version from schema_migrations group by component`;
		expect(Object.fromEntries(versions.map(v => [v.component, v.version]))).toEqual(
			Object.fromEntries(
				COMPONENTS.map(c => [c.module.COMPONENT, c.module.MIGRATIONS.length])
			)
		);
	});
});
