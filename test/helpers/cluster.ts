/**
 * A cluster of separate node processes on one PostgreSQL schema, for the end-to-end suites: the
 * environment they share, each node with a data folder of its own, waiting until the registry
 * shows enough nodes of each service, and stopping it all (processes, folders, schema).
 */
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { removeDir, tempDataDir } from "./broker";
import { NATS_URL } from "./nats";
import { dropSchema, TEST_DATABASE_URL } from "./postgres";
import { eventually, startNode, type NodeProcess } from "./process";

/** What every node of a shared-store cluster is given: NATS, the schema, fresh secrets. */
export function sharedStoreEnv(namespace: string, schema: string): Record<string, string> {
	return {
		TRANSPORTER: NATS_URL,
		NAMESPACE: namespace,
		DATABASE_URL: TEST_DATABASE_URL,
		DATABASE_SCHEMA: schema,
		DATABASE_POOL_SIZE: "4",
		TOKEN_SALT: randomBytes(32).toString("base64url"),
		JWT_SECRET: randomBytes(32).toString("base64url"),
		IP: "127.0.0.1",
		PASSWORD_SCRYPT_N: "1024",
		LOGLEVEL: "warn"
	};
}

/** Waits until `broker`'s registry shows at least `counts[service]` available nodes of each. */
export async function awaitNodes(
	broker: ServiceBroker,
	counts: Record<string, number>,
	timeoutMs = 60_000
): Promise<void> {
	await eventually(
		async () => {
			const services = (await broker.call("$node.services", {
				onlyAvailable: true
			})) as { name: string; nodes: string[] }[];
			const seen = (name: string) => services.find(s => s.name === name)?.nodes.length ?? 0;
			return Object.entries(counts).every(([name, n]) => seen(name) === n);
		},
		timeoutMs,
		Object.entries(counts)
			.map(([name, n]) => `${n} ${name}`)
			.join(", ")
	);
}

/** Node processes by name, each on the services `layout` gives it and a data folder of its own. */
export class NodeCluster {
	readonly nodes: Record<string, NodeProcess> = {};
	private readonly dataDirs: string[] = [];

	constructor(
		private readonly layout: Record<string, string>,
		private readonly schema: string
	) {}

	get names(): string[] {
		return Object.keys(this.layout);
	}

	start(name: string, env: Record<string, string>): NodeProcess {
		const dataDir = tempDataDir(`moleculer-${name}-`);
		this.dataDirs.push(dataDir);
		this.nodes[name] = startNode(name, this.layout[name], { ...env, DATA_DIR: dataDir });
		return this.nodes[name];
	}

	/**
	 * Stops every node with `signal` and what the suite started beside them (a caller broker, an
	 * SMTP server), then removes the folders and the schema.
	 */
	async stop(
		signal: NodeJS.Signals = "SIGTERM",
		...beside: ({ stop(): Promise<unknown> } | { close(): Promise<unknown> } | undefined)[]
	): Promise<void> {
		await Promise.all(Object.values(this.nodes).map(n => n.stop(signal)));
		for (const other of beside) {
			if (other && "stop" in other) await other.stop();
			else if (other) await other.close();
		}
		for (const dir of this.dataDirs) removeDir(dir);
		await dropSchema(this.schema);
	}
}
