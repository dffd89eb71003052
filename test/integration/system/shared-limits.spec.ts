/**
 * Limits on a shared store: two nodes (two brokers) on one PostgreSQL schema count against one
 * budget, so guesses spread over both nodes get the budget of one node, not two:
 * - `tokens`' failed lookups per client;
 * - `auth`'s sign-in attempts per login and per client address;
 * - `auth`'s e-mailed-code submissions per address an hour.
 */
import type { ServiceBroker } from "moleculer";
import TokensService from "../../../services/tokens/tokens.service";
import AuthService from "../../../services/auth/auth.service";
import { FAST_SCRYPT } from "../../helpers/auth";
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
	const SIGN_IN_ATTEMPTS = 4;
	const ADDRESS_FAILURES = 6;
	const CODE_SUBMISSIONS = 4;

	beforeAll(async () => {
		for (let i = 0; i < 2; i++) {
			const dataDir = tempDataDir();
			dataDirs.push(dataDir);
			const broker = createTestBroker({ nodeID: `tokens-${i}` });
			broker.createService(
				withSettings(AuthService, {
					dataDir,
					databaseUrl: TEST_DATABASE_URL,
					databaseSchema: schema,
					password: FAST_SCRYPT,
					publicUrl: "http://app.test",
					limits: {
						signIn: { maxAttempts: SIGN_IN_ATTEMPTS, window: 600 },
						address: { maxAttempts: ADDRESS_FAILURES, window: 600 },
						mail: { maxAttempts: 5, window: 3600 },
						codeAttempts: { maxAttempts: 100, window: 3600 },
						codeHourly: { maxAttempts: CODE_SUBMISSIONS, window: 3600 }
					}
				})
			);
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

	const signIn = (broker: ServiceBroker, login: string, ip: string) =>
		broker.call(
			"auth.signIn",
			{ login, password: "not the password at all" },
			{ meta: { ip } }
		);

	it("refuses sign-ins for one login once its one budget is spent over both auth nodes", async () => {
		for (let n = 0; n < SIGN_IN_ATTEMPTS; n++) {
			await expect(
				signIn(brokers[n % 2], "mallory-target", `192.0.2.${n + 1}`)
			).rejects.toMatchObject({ code: 401 });
		}
		for (const broker of brokers) {
			await expect(signIn(broker, "mallory-target", "192.0.2.99")).rejects.toMatchObject({
				code: 429
			});
		}
	});

	it("refuses a client address once its failures over both auth nodes reach the limit", async () => {
		for (let n = 0; n < ADDRESS_FAILURES; n++) {
			await expect(
				signIn(brokers[n % 2], `someone-${n}`, "203.0.113.50")
			).rejects.toMatchObject({ code: 401 });
		}
		for (const broker of brokers) {
			await expect(signIn(broker, "someone-else", "203.0.113.50")).rejects.toMatchObject({
				code: 429
			});
		}
	});

	it("stores no client address", async () => {
		const postgres = (await import("postgres")).default;
		const sql = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => undefined });
		try {
			const rows = [
				...(await sql.unsafe(`select key from "${schema}".failure_buckets`)),
				...(await sql.unsafe(`select key from "${schema}".attempt_log`))
			];
			expect(rows.length).toBeGreaterThan(0);
			expect(JSON.stringify(rows)).not.toMatch(/203\.0\.113|198\.51\.100|192\.0\.2|mallory/);
		} finally {
			await sql.end({ timeout: 1 });
		}
	});

	it("counts code submissions for one address on both nodes against one hourly budget", async () => {
		const submit = (broker: ServiceBroker) =>
			broker
				.call("auth.signInWithEmailCode", { email: "shared@example.com", code: "000000" })
				.then(
					() => "signed in",
					(err: { type?: string }) => err.type
				);
		const answers: unknown[] = [];
		for (let n = 0; n < CODE_SUBMISSIONS; n++) answers.push(await submit(brokers[n % 2]));
		expect(answers).toEqual(Array(CODE_SUBMISSIONS).fill("INVALID_CODE"));
		for (const broker of brokers) expect(await submit(broker)).toBe("TOO_MANY_ATTEMPTS");
	});
});
