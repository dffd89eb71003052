/**
 * Retries never make a spending action succeed twice, beyond `tokens.consume` (tokens-faults.spec):
 * `auth.refresh` and `pools.assign` run on a node whose handlers are slowed down, and a caller on
 * another node over NATS times out first while asking for retries. Each action ran once; the refresh
 * token was rotated once (presenting it again is reuse), and the pool's one token is held once.
 */
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import MailService from "../../services/mail.service";
import PoolsService from "../../services/pools.service";
import TokensService from "../../services/tokens/tokens.service";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../helpers/broker";
import { authService, createVerifiedAccount, signIn } from "../helpers/auth";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../helpers/nats";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { later, rejection } from "../helpers/async";
import { setTimeout as sleep } from "node:timers/promises";

const DELAY = 800;

/** The schema with its `slowed` actions taking DELAY ms longer; counts their executions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function slowed<T extends ServiceSchema<any, any, any, any>>(
	schema: T,
	names: string[],
	executions: Record<string, number>
): T {
	return {
		...schema,
		mixins: [
			...(schema.mixins ?? []),
			{
				hooks: {
					before: Object.fromEntries(
						names.map(name => [
							name,
							async (ctx: Context) => {
								executions[ctx.action!.name!] =
									(executions[ctx.action!.name!] ?? 0) + 1;
								await sleep(DELAY);
							}
						])
					)
				}
			}
		]
	};
}

describeWithNats("retries never succeed twice (refresh, pool assignment)", () => {
	let dataDir: string;
	let smtp: TestSmtpServer;
	let serviceNode: ServiceBroker;
	let callerNode: ServiceBroker;
	const executions: Record<string, number> = {};

	beforeAll(async () => {
		dataDir = tempDataDir();
		smtp = await startSmtpServer();
		const namespace = uniqueNamespace("retries");
		serviceNode = createTestBroker({
			namespace,
			nodeID: "services",
			transporter: natsTransporter()
		});
		serviceNode.createService(withSettings(TokensService, { dataDir }));
		serviceNode.createService(slowed(authService()(dataDir), ["refresh"], executions));
		serviceNode.createService(withSettings(MailService, { smtpUrl: smtp.url }));
		serviceNode.createService(
			slowed(withSettings(PoolsService, { dataDir }), ["assign"], executions)
		);
		callerNode = createTestBroker({
			namespace,
			nodeID: "caller",
			transporter: natsTransporter()
		});
		await Promise.all([serviceNode.start(), callerNode.start()]);
		await callerNode.waitForServices(["tokens", "auth", "pools"], 10_000);
	});

	afterAll(async () => {
		await Promise.all([callerNode?.stop(), serviceNode?.stop()]);
		await smtp?.close();
		removeDir(dataDir);
	});

	it("a timed-out refresh is not retried, and its token succeeds at most once", async () => {
		await createVerifiedAccount(
			{ broker: serviceNode, smtp, dataDir, events: [], stop: async () => {} },
			"retry"
		);
		const session = await signIn(callerNode, "retry", "a long enough password");
		const refresh = () =>
			callerNode.call("auth.refresh", { refreshToken: session.refreshToken });
		const err = await rejection(
			callerNode.call(
				"auth.refresh",
				{ refreshToken: session.refreshToken },
				{ timeout: 300, retries: 5 }
			)
		);
		expect(err).toBeInstanceOf(Errors.RequestTimeoutError);
		await sleep(DELAY + 300);
		expect(executions["auth.refresh"]).toBe(1); // no retry
		// Here moleculer's distributed timeout cut the attempt off before it spent anything (its
		// nested tokens.consume inherits the caller's deadline); had it spent, the next call would be
		// reuse. Either way the token gives at most one successor (a retry within the reuse
		// interval gets that same one again), and after the interval never anything again.
		const results = await Promise.allSettled([refresh(), refresh()]);
		const successors = results
			.filter(r => r.status === "fulfilled")
			.map(r => (r as PromiseFulfilledResult<{ refreshToken: string }>).value.refreshToken);
		expect(new Set(successors).size).toBeLessThanOrEqual(1);
		expect(await later(11_000, () => rejection(refresh()))).toMatchObject({ code: 401 });
	}, 30_000);

	it("a timed-out assignment is not retried; the pool's one token is held once", async () => {
		await callerNode.call("pools.configure", { pool: "seats", size: 1, leaseTime: 60 });
		await callerNode.call("pools.generate", { pool: "seats" });
		const err = await rejection(
			callerNode.call(
				"pools.assign",
				{ pool: "seats", clientId: "c1" },
				{ timeout: 300, retries: 5 }
			)
		);
		expect(err).toBeInstanceOf(Errors.RequestTimeoutError);
		await sleep(DELAY + 300);
		expect(executions["pools.assign"]).toBe(1);
		expect(await callerNode.call("pools.stats", { pool: "seats" })).toMatchObject({
			assigned: 1,
			available: 0
		});
		await expect(
			callerNode.call("pools.assign", { pool: "seats", clientId: "c2" })
		).rejects.toMatchObject({ code: 404 });
	}, 30_000);
});
