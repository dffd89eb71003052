/**
 * The failed-lookup limits of `tokens`: per end client (its address, as `clientKey` reduces it) or,
 * for calls naming none, per calling node. Counted after a lookup fails, so a valid token is never
 * refused because someone at the same address guessed wrong before. In this node's memory
 * (lib/tokens/lookup-failures/failure-limits/failure-limiter), or, on PostgreSQL, in buckets every tokens node shares
 * (lib/tokens/lookup-failures/failure-limits/postgres-failure-buckets), so guesses spread over nodes get one budget.
 */
import { Errors } from "moleculer";
import { clientKey } from "../../http/client-address";
import type { SharedDatabase } from "../../store/postgres/database";
import { SharedFailureLimiter } from "./postgres-failure-buckets";
import { FailureLimiter, type FailureLimit } from "./failure-limiter";

export interface LookupFailureLimits {
	perClient: FailureLimit;
	perNode: FailureLimit;
}

/** One bucket per key, in memory or shared. */
interface FailureCounter {
	retryAfter(key: string): number | Promise<number>;
	fail(key: string): void | Promise<void>;
	/** Forgets buckets that are full again (shared buckets; memory ones forget by themselves). */
	removeFull?(): Promise<number>;
}

export class LookupFailures {
	private constructor(
		private readonly client: FailureCounter,
		private readonly node: FailureCounter
	) {}

	// Date.now is read at each call, so tests that move the clock move the limits' too.
	static inMemory(limits: LookupFailureLimits, clock = () => Date.now()): LookupFailures {
		return new LookupFailures(
			new FailureLimiter(limits.perClient, 100_000, clock),
			new FailureLimiter(limits.perNode, 10_000, clock)
		);
	}

	static shared(
		{ sql, schema }: SharedDatabase,
		limits: LookupFailureLimits,
		clock = () => Date.now()
	): LookupFailures {
		return new LookupFailures(
			new SharedFailureLimiter(sql, schema, "tokens.client", limits.perClient, clock),
			new SharedFailureLimiter(sql, schema, "tokens.node", limits.perNode, clock)
		);
	}

	/**
	 * Counts a failed lookup; 429 TOO_MANY_FAILURES once the caller has no failures left (after
	 * telling `onRefused`, for the metrics).
	 */
	async count(ip: unknown, nodeID: string, onRefused?: () => void): Promise<void> {
		const [limiter, key] =
			typeof ip === "string" ? [this.client, clientKey(ip)] : [this.node, nodeID];
		const retryAfter = await limiter.retryAfter(key);
		if (retryAfter > 0) {
			onRefused?.();
			throw new Errors.MoleculerClientError(
				"Too many failed token lookups: retry later.",
				429,
				"TOO_MANY_FAILURES",
				{ retryAfter }
			);
		}
		await limiter.fail(key);
	}

	/** For the nightly cleanup: forgets shared buckets that are full again. */
	async forgetFull(): Promise<void> {
		await this.client.removeFull?.();
		await this.node.removeFull?.();
	}
}
