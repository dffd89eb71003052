/**
 * A gateway on a real broker for integration suites: `api` on an ephemeral port with `tokens` and any
 * other services, every log line captured so suites can assert what was (not) logged.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type ServiceBroker, type ServiceSchema } from "moleculer";
import { CapturingLogger } from "./logs";
import ApiService from "../../services/api/api.service";
import TokensService from "../../services/tokens/tokens.service";
import MailService from "../../services/mail.service";
import LinksService from "../../services/links.service";
import { startSmtpServer, type TestSmtpServer } from "./smtp";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "./broker";
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from "./postgres";

export { CapturingLogger };

export interface TestGateway {
	broker: ServiceBroker;
	/** Base URL, e.g. http://127.0.0.1:39123 */
	url: string;
	logs: CapturingLogger;
	dataDir: string;
	stop(): Promise<void>;
}

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghijklmnop";

export interface GatewayOptions {
	/** Settings merged over the api service's. */
	settings?: Record<string, unknown>;
	/** More services, each given the suite's data folder. */
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	services?: ((dataDir: string) => ServiceSchema<any, any, any, any>)[];
	/** Start without the tokens service. */
	withoutTokens?: boolean;
	/**
	 * Settings merged over every storing service's (tokens' and those in `services`), e.g.
	 * `storeOn("postgres")` to run the suite on a PostgreSQL schema of its own.
	 */
	storeSettings?: Record<string, unknown>;
}

export async function startGateway(options: GatewayOptions = {}): Promise<TestGateway> {
	const dataDir = tempDataDir();
	const logs = new CapturingLogger();
	const broker = createTestBroker({ logger: logs, logLevel: "debug" });
	const stored = options.storeSettings ?? {};
	if (!options.withoutTokens) {
		broker.createService(withSettings(TokensService, { dataDir, ...stored }));
	}
	for (const service of options.services ?? []) {
		broker.createService(withSettings(service(dataDir), stored));
	}
	const api = broker.createService(
		withSettings(ApiService, {
			port: 0,
			ip: "127.0.0.1",
			adminToken: TEST_ADMIN_TOKEN,
			...options.settings
		})
	);
	await broker.start();
	const { port } = (api as unknown as { server: Server }).server.address() as AddressInfo;
	return {
		broker,
		url: `http://127.0.0.1:${port}`,
		logs,
		dataDir,
		async stop() {
			await broker.stop();
			removeDir(dataDir);
			const schema = stored.databaseSchema;
			if (typeof schema === "string") await dropSchema(schema);
		}
	};
}

/**
 * Settings that put every storing service of a gateway suite on `kind`: the embedded store, or a
 * PostgreSQL schema of the suite's own (dropped when the gateway stops).
 */
export function storeOn(kind: "nedb" | "postgres"): Record<string, unknown> {
	if (kind === "nedb") return {};
	return { databaseUrl: TEST_DATABASE_URL, databaseSchema: uniqueSchema() };
}

/** Signs these users up (address `<username>@example.com`, one password for all) through auth. */
export async function signUpUsers(
	gw: TestGateway,
	usernames: string[],
	password: string
): Promise<void> {
	for (const username of usernames) {
		await gw.broker.call("auth.signUp", {
			username,
			email: `${username}@example.com`,
			password
		});
	}
}

export type MailingGateway = TestGateway & { smtp: TestSmtpServer };

/** A gateway with the mail service, sending to an SMTP server of its own (closed by `stop`). */
export async function startMailingGateway(options: GatewayOptions = {}): Promise<MailingGateway> {
	const smtp = await startSmtpServer();
	try {
		const gw = await startGateway({
			...options,
			services: [mailVia(smtp), ...(options.services ?? [])]
		});
		return {
			...gw,
			smtp,
			async stop() {
				await gw.stop();
				await smtp.close();
			}
		};
	} catch (err) {
		await smtp.close();
		throw err;
	}
}

/** For `services`: the mail service, sending through the suite's SMTP server. */
export function mailVia(smtp: TestSmtpServer) {
	return () => withSettings(MailService, { smtpUrl: smtp.url });
}

/** For `services`: the links service, allowed to call `actions`. */
export function linksAllowing(...actions: string[]) {
	return (dataDir: string) => withSettings(LinksService, { dataDir, allowedActions: actions });
}
