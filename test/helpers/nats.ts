/**
 * NATS for end-to-end suites. jest's global setup (test/global-setup.ts) probes the server once:
 * without one, suites declared with `describeWithNats` are skipped with a message, unless
 * REQUIRE_NATS=1 (set by .ci/run), where the whole run fails instead.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import type { BrokerOptions } from "moleculer";
import { describeRequiring } from "./requirements";

export const NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";

export function natsAnswers(url = NATS_URL, timeoutMs = 1000): Promise<boolean> {
	const { hostname, port } = new URL(url);
	return new Promise(resolve => {
		const socket = connect({ host: hostname, port: Number(port || 4222) });
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(timeoutMs, () => done(false));
		socket.once("connect", () => done(true));
		socket.once("error", () => done(false));
	});
}

/** A namespace of its own per suite, so suites running at once never see each other's nodes. */
export function uniqueNamespace(prefix = "test"): string {
	return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** `describe` for suites that need a NATS server (see above). */
export function describeWithNats(name: string, body: () => void): void {
	const requirement = {
		available: process.env.NATS_AVAILABLE === "1",
		missing: `no NATS server answers at ${NATS_URL}`,
		requiredBy: "REQUIRE_NATS"
	};
	describeRequiring(requirement, name, body);
}

/** moleculer's NATS transporter pointed at the test server. */
export function natsTransporter(url = NATS_URL): BrokerOptions["transporter"] {
	return { type: "NATS", options: { url } };
}
