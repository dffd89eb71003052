/**
 * Failed-lookup limits on a shared store: two `tokens` services (two brokers, as two nodes) on one
 * PostgreSQL schema drain one bucket per client, so guesses spread over both nodes get the budget
 * of one node, not two.
 */
import type { ServiceBroker } from "moleculer";
import TokensService from "../../../services/tokens.service";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../../helpers/broker";
import {
	describeWithPostgres,
	dropSchema,
	TEST_DATABASE_URL,
	uniqueSchema
} from "../../helpers/postgres";

describeWithPostgres("failed-lookup limits shared through PostgreSQL", () => {
	const schema = uniqueSchema();
	const brokers: ServiceBroker[] = [];
	const dataDirs: string[] = [];
	const BURST = 6;

	beforeAll(async () => {
		for (let i = 0; i < 2; i++) {
			const dataDir = tempDataDir();
			dataDirs.push(dataDir);
			const broker = createTestBroker({ nodeID: `tokens-${i}` });
			broker.createService(
				withSettings(TokensService, {
					dataDir,
					databaseUrl: TEST_DATABASE_URL,
					databaseSchema: schema,
					failureLimit: {
						perClient: { burst: BURST, perSecond: 0.001 },
						perNode: { burst: 1000, perSecond: 1000 }
					}
				})
			);
			brokers.push(broker);
		}
		await Promise.all(brokers.map(b => b.start()));
	});

	afterAll(async () => {
		await Promise.all(brokers.map(b => b.stop()));
		for (const dir of dataDirs) removeDir(dir);
		await dropSchema(schema);
	});

	const guess = (broker: ServiceBroker, ip: string, n: number) =>
		broker.call(
			"tokens.check",
			{ type: "api-key", token: `mtk_${String(n).padStart(43, "A")}` },
			{ meta: { ip } }
		);

	it("refuses the client once its one budget is spent, alternating between the two nodes", async () => {
		const answers: unknown[] = [];
		for (let n = 0; n < BURST; n++) answers.push(await guess(brokers[n % 2], "203.0.113.7", n));
		expect(answers).toEqual(Array(BURST).fill(null));
		for (const broker of brokers) {
			await expect(guess(broker, "203.0.113.7", 99)).rejects.toMatchObject({
				code: 429,
				type: "TOO_MANY_FAILURES"
			});
		}
		// Another client is not affected.
		await expect(guess(brokers[1], "198.51.100.9", 1)).resolves.toBeNull();
	});

	it("stores no client address", async () => {
		const postgres = (await import("postgres")).default;
		const sql = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => undefined });
		try {
			const rows = await sql.unsafe(`select key from "${schema}".failure_buckets`);
			expect(rows.length).toBeGreaterThan(0);
			expect(JSON.stringify(rows)).not.toMatch(/203\.0\.113|198\.51\.100/);
		} finally {
			await sql.end({ timeout: 1 });
		}
	});
});
