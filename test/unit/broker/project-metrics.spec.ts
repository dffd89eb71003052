import { ServiceBroker } from "moleculer";
import { count } from "../../../lib/broker/project-metrics";

const OPERATIONS = "mtk.tokens.operations.total";

describe("project counters", () => {
	let broker: ServiceBroker;

	beforeEach(() => {
		broker = new ServiceBroker({ logger: false, metrics: { enabled: true } });
	});

	const values = () =>
		Object.fromEntries(
			(
				(
					broker.metrics.getMetric(OPERATIONS) as unknown as {
						snapshot(): { labels: Record<string, string>; value: number }[];
					} | null
				)?.snapshot() ?? []
			).map(v => [`${v.labels.operation}/${v.labels.type}/${v.labels.result}`, v.value])
		);

	it("adds a turn's counts to the registry once the turn is over, summed per label set", async () => {
		for (let i = 0; i < 5; i++)
			count(broker, OPERATIONS, { operation: "check", type: "api-key", result: "valid" });
		count(broker, OPERATIONS, { operation: "check", type: "api-key", result: "not_found" }, 2);
		count(broker, OPERATIONS, { operation: "check", type: "magic", result: "valid" });
		expect(values()).toEqual({});
		await new Promise(resolve => setImmediate(resolve));
		expect(values()).toEqual({
			"check/api-key/valid": 5,
			"check/api-key/not_found": 2,
			"check/magic/valid": 1
		});
		count(broker, OPERATIONS, { operation: "check", type: "api-key", result: "valid" });
		await new Promise(resolve => setImmediate(resolve));
		expect(values()["check/api-key/valid"]).toBe(6);
	});

	it("counts nothing when metrics are off", async () => {
		const off = new ServiceBroker({ logger: false, metrics: { enabled: false } });
		count(off, OPERATIONS, { operation: "check", type: "api-key", result: "valid" });
		await new Promise(resolve => setImmediate(resolve));
		expect(off.metrics.getMetric(OPERATIONS)).toBeNull();
	});
});
