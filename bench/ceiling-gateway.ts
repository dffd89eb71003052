/**
 * The HTTP benchmark's ceiling: moleculer-web (the version the gateway uses) answering a constant
 * from an action, nothing else, in one process on PORT. What any route through our gateway could
 * reach on this machine; bench/http.ts runs it beside the routes, in the same run.
 */
import { ServiceBroker } from "moleculer";
import ApiGateway from "moleculer-web";

async function main(): Promise<void> {
	const broker = new ServiceBroker({ nodeID: "bench-ceiling", logger: false });
	broker.createService({
		name: "ceiling",
		actions: { constant: () => ({ ok: true }) }
	});
	broker.createService({
		name: "ceiling-api",
		mixins: [ApiGateway],
		settings: {
			port: Number(process.env.PORT),
			ip: "127.0.0.1",
			routes: [
				{
					path: "/",
					mappingPolicy: "restrict",
					aliases: { "GET /constant": "ceiling.constant" }
				}
			]
		}
	});
	await broker.start();
	console.log("ceiling ready");
	process.once("SIGTERM", () => void broker.stop().then(() => process.exit(0)));
}

void main();
