/**
 * inTransaction (lib/store/postgres/transaction) under the load that makes postgres.js 3.4's
 * `sql.begin` send BEGIN on a connection it does not reserve: a small pool whose connections are
 * all busy, a short pipeline, plain queries and transactions queued together. Every transaction
 * commits, no plain query runs inside one, and no connection is left idle in a transaction.
 */
import postgres from "postgres";
import { inTransaction } from "../../../lib/store/postgres/transaction";
import {
	describeWithPostgres,
	dropSchema,
	TEST_DATABASE_URL,
	uniqueSchema
} from "../../helpers/postgres";

type Work = (tx: postgres.TransactionSql | postgres.ReservedSql) => Promise<void>;
type Begin = (sql: postgres.Sql, work: Work) => Promise<void>;

describeWithPostgres("PostgreSQL transactions", () => {
	const schema = uniqueSchema("tx");
	const application = `tx-probe-${schema}`;
	let sql: postgres.Sql;

	beforeAll(async () => {
		// max_pipeline is a driver option its type declarations leave out.
		const options = {
			max: 3,
			max_pipeline: 2,
			connection: { search_path: schema, application_name: application },
			onnotice: () => undefined
		};
		sql = postgres(TEST_DATABASE_URL, options);
		await sql.unsafe(`create schema "${schema}"`);
		await sql`create table probe (round int not null)`;
	});
	afterAll(async () => {
		await sql?.end({ timeout: 5 });
		await dropSchema(schema);
	});

	/** Rounds of: every connection busy, then plain queries and transactions queued together. */
	async function crowd(begin: Begin, rounds: number) {
		const failures: string[] = [];
		let insideSomeoneElses = 0;
		for (let round = 0; round < rounds; round++) {
			// Each busy connection takes one plain query into its pipeline, then a BEGIN fills it
			// (`execute()` hands a query to the pool now, not on the next tick, to keep that order).
			const busy = [1, 2, 3].map(() => sql`select pg_sleep(0.05)`.execute());
			const plain = () =>
				sql<
					{ inside: boolean }[]
				>`select current_setting('probe.owner', true) = 'tx' as inside`.execute();
			const before = [1, 2, 3].map(plain);
			const transactions = Array.from({ length: 3 }, () =>
				begin(sql, async tx => {
					await tx`select set_config('probe.owner', 'tx', true)`;
					await tx`insert into probe (round) values (${round})`;
					await tx`select pg_sleep(0.005)`;
				}).catch((err: { code?: string }) => void failures.push(String(err.code)))
			);
			const after = [1, 2, 3].map(plain);
			await Promise.all(busy);
			await Promise.all(transactions);
			const answers = await Promise.all([...before, ...after, ...[1, 2, 3].map(plain)]);
			insideSomeoneElses += answers.filter(([row]) => row.inside).length;
		}
		const [{ count }] = await sql<
			{ count: number }[]
		>`select count(*)::int as count from probe`;
		await sql`delete from probe`;
		return { failures, insideSomeoneElses, committed: count };
	}

	it("commits every transaction on its own connection while the pool is crowded", async () => {
		const outcome = await crowd(inTransaction, 20);
		expect(outcome).toEqual({ failures: [], insideSomeoneElses: 0, committed: 60 });
		const [{ stuck }] = await sql<{ stuck: number }[]>`
			select count(*)::int as stuck from pg_stat_activity
			where application_name = ${application} and state like 'idle in transaction%'`;
		expect(stuck).toBe(0);
	}, 30_000);

	it("rolls back what a failed transaction wrote, and the connection serves the next caller", async () => {
		await expect(
			inTransaction(sql, async tx => {
				await tx`insert into probe (round) values (-1)`;
				throw new Error("changed my mind");
			})
		).rejects.toThrow("changed my mind");
		await expect(
			inTransaction(sql, tx => tx`insert into probe (round) values (${"not a number"})`)
		).rejects.toMatchObject({ code: "22P02" });
		const rows = await sql`select round from probe`;
		expect(rows.length).toBe(0);
		const [{ inside }] = await sql<{ inside: boolean }[]>`
			select pg_current_xact_id_if_assigned() is not null as inside`;
		expect(inside).toBe(false);
	});

	it("is needed: the driver's own sql.begin fails under the same crowd (when this fails, postgres.js has mended it)", async () => {
		// eslint-disable-next-line no-restricted-syntax -- the driver's call, to show what inTransaction avoids
		const driverBegin: Begin = (pool, work) => pool.begin(tx => work(tx)).then(() => undefined);
		const outcome = await crowd(driverBegin, 20);
		expect(outcome.failures.length + outcome.insideSomeoneElses).toBeGreaterThan(0);
	}, 30_000);
});
