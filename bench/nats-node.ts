/**
 * The `tokens` node of the NATS benchmark, run as its own process (forked by bench/run.ts), so the
 * caller and the service each have a core, as separate nodes would.
 */
import { fillTokens, startTokensNode } from "./fixture";

async function main(): Promise<void> {
	const [dataDir, namespace, natsUrl, count] = process.argv.slice(2);
	const broker = await startTokensNode(dataDir, {
		namespace,
		nodeID: "bench-tokens",
		transporter: { type: "NATS", options: { url: natsUrl } }
	});
	const tokens = await fillTokens(broker, Number(count));
	process.send!({ ready: true, sample: tokens.slice(0, 20000) });
	process.on("message", async (msg: { stop?: boolean }) => {
		if (msg.stop) {
			await broker.stop();
			process.exit(0);
		}
	});
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
