/**
 * Seed 000's three examples, unchanged, from a separate node over the real NATS server.
 */
import type { ServiceBroker } from "moleculer";
import TokensService from "../../services/tokens/tokens.service";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../helpers/broker";
import { tokenCalls } from "../helpers/tokens";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../helpers/nats";

/** A `tokens` node with these settings and a caller node, on a namespace of their own. */
async function startNodes(
	prefix: string,
	settings: Record<string, unknown> = {}
): Promise<{ tokensNode: ServiceBroker; callerNode: ServiceBroker; dataDir: string }> {
	const dataDir = tempDataDir();
	const namespace = uniqueNamespace(prefix);
	const tokensNode = createTestBroker({
		namespace,
		nodeID: "tokens-node",
		transporter: natsTransporter()
	});
	tokensNode.createService(withSettings(TokensService, { dataDir, ...settings }));
	const callerNode = createTestBroker({
		namespace,
		nodeID: "caller-node",
		transporter: natsTransporter()
	});
	await Promise.all([tokensNode.start(), callerNode.start()]);
	await callerNode.waitForServices(["tokens"], 10_000);
	return { tokensNode, callerNode, dataDir };
}

describeWithNats("tokens over NATS", () => {
	let dataDir: string;
	let tokensNode: ServiceBroker;
	let callerNode: ServiceBroker;

	beforeAll(async () => {
		({ tokensNode, callerNode, dataDir } = await startNodes("tokens-e2e"));
	});

	afterAll(async () => {
		await Promise.all([callerNode?.stop(), tokensNode?.stop()]);
		removeDir(dataDir);
	});

	it("runs the seed's generate, check and remove examples", async () => {
		const broker = callerNode;
		const log: unknown[] = [];

		// Generating tokens (seed 000, section 2)
		const token = await broker.call("tokens.generate", {
			type: "verification", // Specify the token type
			expiry: 3600, // Specify the expiry time in seconds
			owner: "user123" // Specify the owner ID
		});
		log.push(token);
		const generated = token as { token: string; id: string };
		expect(generated.token).toMatch(/^mtv_/);

		// Checking tokens (seed 000, section 3), with the seed's placeholder...
		const placeholder = await broker.call("tokens.check", {
			type: "verification",
			token: "your-token-value",
			owner: "user123",
			isUsed: true
		});
		expect(placeholder).toBeNull();
		// ...and with the real value.
		const checked = await broker.call("tokens.check", {
			type: "verification",
			token: generated.token,
			owner: "user123",
			isUsed: true
		});
		expect(checked).toMatchObject({ id: generated.id, owner: "user123" });
		expect((checked as { lastUsedAt: string | null }).lastUsedAt).not.toBeNull();

		// Removing tokens: an unknown one is null, a known one is answered once and gone.
		const tokens = tokenCalls(() => broker);
		expect(await tokens.remove("verification", "your-token-value")).toBeNull();
		expect(await tokens.remove("verification", generated.token)).toMatchObject({
			id: generated.id
		});
		expect(await tokens.check("verification", generated.token)).toBeNull();
	});

	it("answers validation errors with 422 across the wire, without the rejected value", async () => {
		const secret = "mtv_NotARealTokenButSecretLooking123456";
		await expect(
			callerNode.call("tokens.check", { type: "verification", token: secret, owner: ["x"] })
		).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "owner" })] });
		const err = await callerNode
			.call("tokens.generate", { type: secret, owner: "u" })
			.catch((e: unknown) => e);
		expect(err).toMatchObject({
			code: 422,
			data: [expect.objectContaining({ field: "type" })]
		});
		expect(JSON.stringify(err)).not.toContain(secret);
	});

	it("spends a token once among 1,000 concurrent remote consumes", async () => {
		const g = await callerNode.call<{ token: string }, object>("tokens.generate", {
			type: "passwordless",
			owner: "u"
		});
		const results = await Promise.all(
			Array.from({ length: 1000 }, () =>
				callerNode.call("tokens.consume", { type: "passwordless", token: g.token })
			)
		);
		expect(results.filter(r => r !== null)).toHaveLength(1);
	});
});

describeWithNats("failed checks arriving over NATS", () => {
	let dataDir: string;
	let tokensNode: ServiceBroker;
	let callerNode: ServiceBroker;

	beforeAll(async () => {
		({ tokensNode, callerNode, dataDir } = await startNodes("tokens-limit", {
			failureLimit: {
				perClient: { burst: 2, perSecond: 0.1 },
				perNode: { burst: 4, perSecond: 0.1 }
			}
		}));
	});

	afterAll(async () => {
		await Promise.all([callerNode?.stop(), tokensNode?.stop()]);
		removeDir(dataDir);
	});

	it("are limited per calling node, and per client when the caller names one", async () => {
		const wrong = () => ({
			type: "verification",
			token: "mtv_not-a-real-token-at-all-000000000"
		});
		for (let i = 0; i < 4; i++)
			expect(await callerNode.call("tokens.check", wrong())).toBeNull();
		await expect(callerNode.call("tokens.check", wrong())).rejects.toMatchObject({
			code: 429,
			type: "TOO_MANY_FAILURES"
		});
		const asClient = () =>
			callerNode.call("tokens.check", wrong(), { meta: { ip: "192.0.2.7" } });
		expect(await asClient()).toBeNull();
		expect(await asClient()).toBeNull();
		await expect(asClient()).rejects.toMatchObject({ code: 429 });
	});
});
