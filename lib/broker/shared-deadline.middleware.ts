/**
 * One request-timeout timer per request in each process, instead of one per call.
 *
 * moleculer's Timeout middleware arms a timer for every call and gives a nested call what is left of
 * its caller's time. When the caller runs in this process and the call stays in it too, the call's
 * timer can fire no earlier than the caller's, which already rejects the caller's promise at that
 * deadline: the second timer changes nothing the request's caller sees. A REST request with an API
 * key makes three such calls (the gateway's `rest`, `auth.resolveApiKey`, `tokens.check`), and the
 * timers with their promise races were about 15 µs of its 140 µs of CPU.
 *
 * So a call made from a context whose deadline runs here (a caller with a timeout, waiting in this
 * process) to an action this node will serve itself runs without its own timer. Calls keep theirs
 * when they leave the process (a remote node can vanish), when their caller set a shorter timeout,
 * or when no caller above them has a deadline. A call below an untimed one still gets what is left
 * of the deadline above it, as moleculer's distributed timeouts would give it.
 */
import { Errors, type Middleware, type ServiceBroker } from "moleculer";

/**
 * What the middleware reads of a context: its timeout, the start of its clock, and its caller
 * (moleculer keeps a context's call options, and with them the caller's context, as `options`).
 */
export interface DeadlineContext {
	options: { timeout?: number | null; parentCtx?: DeadlineContext | null };
	startHrTime?: [number, number] | null;
}

/** A call's timer is redundant when it would fire within this long after the caller's deadline. */
const SLACK_MS = 1;

/** Milliseconds left before the nearest deadline armed above this call in this process, or null. */
export function remainingDeadline(
	parent: DeadlineContext | null | undefined,
	now: [number, number] = process.hrtime()
): number | null {
	for (let ctx = parent; ctx; ctx = ctx.options.parentCtx) {
		const timeout = ctx.options.timeout;
		if (timeout != null && timeout > 0 && ctx.startHrTime) {
			const elapsed =
				(now[0] - ctx.startHrTime[0]) * 1e3 + (now[1] - ctx.startHrTime[1]) / 1e6;
			return timeout - elapsed;
		}
	}
	return null;
}

/**
 * The timeout to call with: 0 (no timer of its own) when the call stays in this process and asks
 * for no less than the deadline above it has left; that deadline's remainder when it would otherwise
 * get a fresh full timeout; else what it asked for.
 */
export function callTimeout(
	requested: number | null | undefined,
	remaining: number | null,
	staysLocal: boolean
): number | null | undefined {
	if (remaining === null) return requested;
	const asked = requested != null && requested > 0 ? requested : null;
	if (staysLocal && (asked === null || asked >= remaining - SLACK_MS)) return 0;
	return asked === null ? remaining : Math.min(asked, remaining);
}

interface EndpointLike {
	local: boolean;
	isAvailable: boolean;
}
interface EndpointListLike {
	endpoints: EndpointLike[];
	localEndpoints: EndpointLike[];
}

/** Whether the broker will serve `action` itself: as moleculer's balancer picks with preferLocal. */
export function servedLocally(broker: ServiceBroker, action: string, nodeID?: string): boolean {
	if (nodeID != null) return nodeID === broker.nodeID;
	const registry = broker.registry as unknown as {
		opts: { preferLocal?: boolean };
		getActionEndpoints(name: string): EndpointListLike | null | undefined;
	};
	const list = registry.getActionEndpoints(action);
	if (!list || !list.localEndpoints.some(ep => ep.isAvailable)) return false;
	return registry.opts.preferLocal === true || list.endpoints.length === 1;
}

type Call = (action: string, params?: unknown, opts?: Record<string, unknown>) => Promise<unknown>;

/** The caller's context, with the broker it runs in (a process may hold several brokers: tests). */
type ParentContext = DeadlineContext & { broker?: ServiceBroker };

const SharedDeadlineMiddleware = {
	name: "SharedDeadline",
	call(next: Call): Call {
		return function sharedDeadline(action, params, opts) {
			const parent = opts?.parentCtx as ParentContext | undefined;
			const broker = parent?.broker;
			if (!broker || typeof action !== "string") return next(action, params, opts);
			const remaining = remainingDeadline(parent);
			if (remaining === null) return next(action, params, opts);
			if (remaining <= 0) {
				return Promise.reject(
					new Errors.RequestSkippedError({ action, nodeID: broker.nodeID })
				);
			}
			const local = servedLocally(broker, action, opts?.nodeID as string | undefined);
			const timeout = callTimeout(opts?.timeout as number | undefined, remaining, local);
			return next(action, params, { ...opts, timeout });
		};
	}
} as unknown as Middleware;

export default SharedDeadlineMiddleware;
