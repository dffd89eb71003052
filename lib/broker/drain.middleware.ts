/**
 * Graceful stops: when the broker stops (SIGTERM under moleculer-runner), every local service with a
 * `drain()` method runs it before any service stops. moleculer has by then told the other nodes this
 * one serves nothing (an empty INFO packet), so no new call comes from them; the gateway uses the
 * time to answer /ready with 503 while it still serves, so a load balancer stops sending first.
 */
import type { Middleware, Service, ServiceBroker } from "moleculer";

interface Drainable {
	drain(): Promise<void>;
}

function isDrainable(service: Service): service is Service & Drainable {
	return typeof (service as Partial<Drainable>).drain === "function";
}

const DrainMiddleware: Middleware = {
	name: "Drain",
	async stopping(broker: ServiceBroker) {
		await Promise.all(broker.services.filter(isDrainable).map(service => service.drain()));
	}
};

export default DrainMiddleware;
