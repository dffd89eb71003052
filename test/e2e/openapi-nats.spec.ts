/**
 * The OpenAPI document of a gateway on another node than the services it describes (the cluster
 * and compose layouts): the same document as a gateway beside them, patterns included (a RegExp
 * does not survive the registry's JSON; lib/broker/portable-params.middleware sends its source), and
 * an operationId on every operation.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import ApiService from "../../services/api/api.service";
import AuthService from "../../services/auth/auth.service";
import TokensService from "../../services/tokens/tokens.service";
import LinksService from "../../services/links.service";
import PoolsService from "../../services/pools.service";
import MailService from "../../services/mail.service";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../helpers/broker";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../helpers/nats";
import { FAST_SCRYPT } from "../helpers/auth";
import { request } from "../helpers/http";

type Doc = { paths: Record<string, Record<string, { operationId?: string }>> };

describeWithNats("the OpenAPI document with the gateway on its own node", () => {
	const dataDir = tempDataDir();
	const namespace = uniqueNamespace("openapi");
	let services: ServiceBroker;
	let gateway: ServiceBroker;

	const api = (broker: ServiceBroker) =>
		broker.createService(withSettings(ApiService, { port: 0, ip: "127.0.0.1" }));
	const urlOf = (service: unknown) =>
		`http://127.0.0.1:${((service as { server: Server }).server.address() as AddressInfo).port}`;

	let local: string;
	let remote: string;

	beforeAll(async () => {
		services = createTestBroker({
			namespace,
			nodeID: "services",
			transporter: natsTransporter()
		});
		services.createService(withSettings(TokensService, { dataDir }));
		services.createService(withSettings(AuthService, { dataDir, password: FAST_SCRYPT }));
		services.createService(withSettings(PoolsService, { dataDir }) as unknown as ServiceSchema);
		services.createService(withSettings(LinksService, { dataDir }) as unknown as ServiceSchema);
		services.createService(MailService);
		const beside = api(services);
		gateway = createTestBroker({
			namespace,
			nodeID: "gateway",
			transporter: natsTransporter()
		});
		const alone = api(gateway);
		await Promise.all([services.start(), gateway.start()]);
		await gateway.waitForServices(["tokens", "auth", "pools", "links"], 10_000);
		local = urlOf(beside);
		remote = urlOf(alone);
	});

	afterAll(async () => {
		await Promise.all([gateway?.stop(), services?.stop()]);
		removeDir(dataDir);
	});

	it("is the same document, patterns included, as a gateway beside the services", async () => {
		const [beside, alone] = await Promise.all(
			[local, remote].map(
				async base => (await request(`${base}/api/openapi.json`)).body as Doc
			)
		);
		const text = JSON.stringify(alone);
		expect(text).toContain('"pattern":"^[a-zA-Z0-9_.-]+$"');
		expect(alone.paths).toEqual(beside.paths);
	});

	it("names every operation with an operationId of its own", async () => {
		const doc = (await request(`${remote}/api/openapi.json`)).body as Doc;
		const ids = Object.values(doc.paths).flatMap(ops =>
			Object.values(ops).map(op => op.operationId)
		);
		expect(ids.length).toBeGreaterThan(40);
		expect(ids.every(id => typeof id === "string" && /^[A-Za-z][A-Za-z0-9]*$/.test(id))).toBe(
			true
		);
		expect(new Set(ids).size).toBe(ids.length);
		expect(ids).toEqual(expect.arrayContaining(["authSignIn", "tokensCheck", "health"]));
	});
});
