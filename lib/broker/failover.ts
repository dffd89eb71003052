/**
 * Failover in well under a second when a node dies without saying so (SIGKILL, OOM, a lost host).
 *
 * moleculer notices such a death only when the node's heartbeats stop for the heartbeat timeout;
 * until then every call balanced to it waits for its request timeout. Here a call to another node
 * that has not answered after `probeAfter` ms (the transporter's pending requests, looked at every
 * 100 ms) makes this node ask the callee for a PONG (the transporter's own ping, one per node at a
 * time). A node that answers is alive and merely slow: the
 * call waits on. A node that does not within `probeTimeout` is suspect:
 * - every call waiting on it fails at once with a retryable 503 `NODE_UNRESPONSIVE`;
 * - moleculer's retry policy sends the calls that may run twice (those whose retry policy is on:
 *   reads, checks, lists) again, and the balancer (FailoverStrategy) picks another node;
 * - calls that must not run twice (retry policy off: generate, consume, sign-up, refresh) reach the
 *   caller as that 503: it was maybe applied, never twice, and asking again is safe where the store
 *   makes it so (an atomic consume);
 * - no new call is balanced to it while another node serves the action.
 * A suspect node is pinged every `recheckEvery` ms and trusted again when it answers; it is
 * forgotten when the registry drops it (heartbeat timeout) or it reconnects.
 *
 * Only calls that leave the process are watched: a local call cannot meet a dead node.
 */
import { Errors, Strategies, type Middleware, type ServiceBroker } from "moleculer";
import type Endpoint from "moleculer/src/registry/endpoint";

export interface FailoverOptions {
	/** Milliseconds without an answer before the callee is pinged. */
	probeAfter: number;
	/** Milliseconds the callee has to answer the ping. */
	probeTimeout: number;
	/** Milliseconds between pings of a suspect node. */
	recheckEvery: number;
}

export const FAILOVER_DEFAULTS: FailoverOptions = {
	probeAfter: 500,
	probeTimeout: 300,
	recheckEvery: 1000
};

export const NODE_UNRESPONSIVE = "NODE_UNRESPONSIVE";

/** The error of a call whose node stopped answering: retryable, as a remote caller rebuilds it. */
export function nodeUnresponsive(action: string, nodeID: string): Errors.MoleculerRetryableError {
	return new Errors.MoleculerRetryableError(
		`The node serving '${action}' stopped answering; try again.`,
		503,
		NODE_UNRESPONSIVE,
		{ action, nodeID }
	);
}

type Ping = (nodeID: string, timeout: number) => Promise<unknown>;

/** A call waiting for another node's answer, as the transporter keeps it. */
export interface PendingCall {
	nodeID: string;
	/** Fails the call at once with this error (and forgets it). */
	giveUp(err: Error): void;
}

/** Every call this node is waiting on, in the order they were sent. */
export type PendingCalls = () => Iterable<[key: object, call: PendingCall & { action: string }]>;

/**
 * Which nodes this node suspects. Broker-free: it is given a ping and the calls waiting (the
 * transporter's pending requests), so its logic has unit tests of its own. Nothing is done per
 * call: one sweep every 100 ms looks at the calls waiting (a timer per call cost the caller 3 µs
 * of CPU per remote call, 5% of the cluster benchmark).
 */
export class NodeHealth {
	private readonly suspects = new Set<string>();
	private readonly probes = new Map<string, Promise<boolean>>();
	/** When the sweep first saw each waiting call. */
	private readonly seenAt = new WeakMap<object, number>();
	/** When each node last answered a ping: a slow node is not pinged again for `probeAfter`. */
	private readonly answeredAt = new Map<string, number>();
	private readonly rechecks = new Map<string, NodeJS.Timeout>();
	private sweeper: NodeJS.Timeout | null = null;

	constructor(
		private readonly ping: Ping,
		private readonly pending: PendingCalls,
		private readonly options: FailoverOptions = FAILOVER_DEFAULTS
	) {}

	isSuspect(nodeID: string): boolean {
		return this.suspects.has(nodeID);
	}

	get suspectCount(): number {
		return this.suspects.size;
	}

	start(): void {
		const every = Math.max(5, Math.min(100, this.options.probeAfter / 4));
		this.sweeper ??= setInterval(() => this.sweep(), every);
		this.sweeper.unref();
	}

	stop(): void {
		for (const timer of this.rechecks.values()) clearTimeout(timer);
		this.rechecks.clear();
		this.suspects.clear();
		if (this.sweeper) clearInterval(this.sweeper);
		this.sweeper = null;
	}

	/** Pings each node a call has waited on for `probeAfter` (less one sweep) or more. */
	sweep(): void {
		const now = Date.now();
		const due = now - this.options.probeAfter;
		for (const [key, call] of this.pending()) {
			const seen = this.seenAt.get(key);
			if (seen === undefined) {
				this.seenAt.set(key, now);
				continue;
			}
			const node = call.nodeID;
			if (seen > due || this.suspects.has(node) || (this.answeredAt.get(node) ?? 0) > due) {
				continue;
			}
			void this.probe(node);
		}
	}

	/** Whether the node answers a ping; one ping per node at a time. */
	probe(nodeID: string): Promise<boolean> {
		let probe = this.probes.get(nodeID);
		if (!probe) {
			probe = this.ping(nodeID, this.options.probeTimeout)
				.then(
					pong => pong != null,
					() => false
				)
				.then(alive => {
					this.probes.delete(nodeID);
					if (alive) this.trust(nodeID);
					else this.suspect(nodeID);
					return alive;
				});
			this.probes.set(nodeID, probe);
		}
		return probe;
	}

	/** The registry dropped the node or it came back: start afresh. */
	forget(nodeID: string): void {
		this.trust(nodeID);
	}

	private suspect(nodeID: string): void {
		this.suspects.add(nodeID);
		// Every call waiting on it gives up now (a copy: giving up removes it).
		for (const [, call] of [...this.pending()]) {
			if (call.nodeID === nodeID) call.giveUp(nodeUnresponsive(call.action, nodeID));
		}
		if (!this.rechecks.has(nodeID)) {
			const timer = setTimeout(() => {
				this.rechecks.delete(nodeID);
				if (this.suspects.has(nodeID)) void this.probe(nodeID);
			}, this.options.recheckEvery);
			timer.unref();
			this.rechecks.set(nodeID, timer);
		}
	}

	private trust(nodeID: string): void {
		this.answeredAt.set(nodeID, Date.now());
		this.suspects.delete(nodeID);
		const timer = this.rechecks.get(nodeID);
		if (timer) clearTimeout(timer);
		this.rechecks.delete(nodeID);
	}
}

/** Each broker's NodeHealth, for the strategy that balances its calls. */
const healthOf = new WeakMap<ServiceBroker, NodeHealth>();

/** The transporter's pending requests, as NodeHealth reads them. */
function pendingRequestsOf(broker: ServiceBroker): PendingCalls {
	return function* () {
		const transit = broker.transit;
		if (!transit) return;
		for (const [id, request] of transit.pendingRequests) {
			yield [
				request,
				{
					nodeID: request.nodeID,
					action: request.action,
					giveUp(err: Error) {
						transit.removePendingRequest(id);
						request.reject(err);
					}
				}
			];
		}
	};
}

/**
 * The middleware: watches every call that leaves the process (see above). Its state is per broker,
 * so one middleware object may serve every broker of a process (as moleculer.config's does in tests).
 */
export function FailoverMiddleware(options: Partial<FailoverOptions> = {}): Middleware {
	const settings = { ...FAILOVER_DEFAULTS, ...options };
	return {
		name: "Failover",
		created(broker: ServiceBroker) {
			const health = new NodeHealth(
				(nodeID, timeout) => broker.ping(nodeID, timeout) as Promise<unknown>,
				pendingRequestsOf(broker),
				settings
			);
			healthOf.set(broker, health);
			const forget = ({ node }: { node: { id: string } }) => health.forget(node.id);
			broker.localBus.on("$node.disconnected", forget);
			broker.localBus.on("$node.connected", forget);
		},
		async started(broker: ServiceBroker) {
			if (broker.transit) healthOf.get(broker)?.start();
		},
		async stopped(broker: ServiceBroker) {
			healthOf.get(broker)?.stop();
		}
	};
}

/**
 * Round-robin over the endpoints of nodes this node does not suspect (all of them when every one is
 * suspect: the call then decides). Set as `registry.strategy` beside FailoverMiddleware.
 */
export class FailoverStrategy extends Strategies.RoundRobin {
	override select(list: Endpoint[]): Endpoint {
		const health = healthOf.get(this.broker);
		if (health && health.suspectCount > 0) {
			const trusted = list.filter(ep => !health.isSuspect(ep.id));
			if (trusted.length > 0) return super.select(trusted);
		}
		return super.select(list);
	}
}

/**
 * Retry only errors moleculer marks retryable (timeouts, a node gone, NODE_UNRESPONSIVE): 2 retries
 * after 100 and 200 ms. Actions that must not run twice (generate, consume…) turn retries off for
 * themselves, which every caller's broker honours.
 */
export const RETRY_RETRYABLE_ERRORS = {
	enabled: true,
	retries: 2,
	delay: 100,
	maxDelay: 1000,
	factor: 2,
	check: (err: Error) => Boolean((err as Errors.MoleculerRetryableError).retryable)
};

/**
 * What a sibling service's broker needs for the same failover when it calls this project's
 * services: spread into its broker options (`new ServiceBroker({ ...failoverBrokerOptions(), … })`,
 * or moleculer.config.js). Its own middlewares go after these.
 */
export function failoverBrokerOptions(options: Partial<FailoverOptions> = {}) {
	return {
		middlewares: [FailoverMiddleware(options)],
		registry: { strategy: FailoverStrategy, preferLocal: true },
		retryPolicy: RETRY_RETRYABLE_ERRORS
	};
}
