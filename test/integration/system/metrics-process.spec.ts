/**
 * What moleculer's Prometheus reporter publishes about the process, with the project's options: not
 * the command line (process_arguments), which may carry secrets passed as arguments.
 */
import { ServiceBroker } from "moleculer";
import { metricsOptions } from "../../../lib/broker/observability";
import { freePort } from "../../helpers/process";

describe("Prometheus process metrics", () => {
	it("publishes the process's figures but not its arguments", async () => {
		const port = await freePort();
		const broker = new ServiceBroker({
			logger: false,
			// moleculer collects process metrics unless NODE_ENV is "test", as jest sets it.
			metrics: {
				...(metricsOptions({
					METRICS_PORT: String(port),
					METRICS_HOST: "127.0.0.1"
				}) as object),
				collectProcessMetrics: true
			}
		});
		await broker.start();
		try {
			const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
			expect(scrape).toMatch(/^process_memory_rss\{/m);
			expect(scrape).not.toMatch(/^process_arguments/m);
		} finally {
			await broker.stop();
		}
	});
});
