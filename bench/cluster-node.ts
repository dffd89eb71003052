/**
 * A `tokens` node of the cluster benchmark (bench/cluster.ts), run as its own process: it stores
 * the plaintext tokens it is sent (every node the same ones, each in its own embedded store, as
 * nodes sharing a TOKEN_SALT would hold after the same writes), then serves them over NATS.
 */
import type { BrokerOptions } from "moleculer";
import { insertTokens, startTokensNode } from "./fixture";

async function main(): Promise<void> {
	const [dataDir, namespace, natsUrl, nodeID] = process.argv.slice(2);
	const broker = await startTokensNode(dataDir, {
		namespace,
		nodeID,
		transporter: { type: "NATS", options: { url: natsUrl } },
		...(JSON.parse(process.env.BENCH_BROKER_OPTIONS || "{}") as Partial<BrokerOptions>)
	});
	process.on("message", async (msg: { tokens?: string[]; stop?: boolean }) => {
		if (msg.tokens) {
			await insertTokens(broker, msg.tokens);
			process.send!({ ready: true });
		}
		if (msg.stop) {
			await broker.stop();
			process.exit(0);
		}
	});
	process.send!({ started: true });
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
