import { ServiceBroker, type BrokerOptions } from "moleculer";
import { logLevelEnabled } from "../../../lib/broker/log-level";

function loggerOf(
	logLevel: BrokerOptions["logLevel"],
	logger: BrokerOptions["logger"] = { type: "Console" }
) {
	const broker = new ServiceBroker({ logger, logLevel });
	return broker.getLogger("api", { svc: "api" });
}

describe("logLevelEnabled", () => {
	it("follows a broker-wide level", () => {
		const logger = loggerOf("warn");
		expect(logLevelEnabled(logger, "api", "error")).toBe(true);
		expect(logLevelEnabled(logger, "api", "warn")).toBe(true);
		expect(logLevelEnabled(logger, "api", "info")).toBe(false);
		expect(logLevelEnabled(logger, "api", "debug")).toBe(false);
	});

	it("follows a level set per module, and the ** fallback", () => {
		const levels = { API: "debug", "**": "warn" } as BrokerOptions["logLevel"];
		expect(logLevelEnabled(loggerOf(levels), "api", "debug")).toBe(true);
		expect(logLevelEnabled(loggerOf(levels), "api", "trace")).toBe(false);
		expect(logLevelEnabled(loggerOf(levels), "tokens", "info")).toBe(false);
	});

	it("is true when any appender takes the level", () => {
		const logger = loggerOf("warn", [
			{ type: "Console", options: { level: "error" } },
			{ type: "Console", options: { level: "info" } }
		]);
		expect(logLevelEnabled(logger, "api", "info")).toBe(true);
		expect(logLevelEnabled(logger, "api", "debug")).toBe(false);
	});

	it("is false for no logger at all and for a level that does not exist", () => {
		expect(logLevelEnabled(loggerOf("info", false), "api", "fatal")).toBe(false);
		expect(logLevelEnabled(loggerOf("trace"), "api", "verbose")).toBe(false);
	});
});
