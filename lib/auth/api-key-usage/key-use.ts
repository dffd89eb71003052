/**
 * Where an API key's use is decided: every rate limit counts it, then, if they all let it pass, it
 * spends a credit. A refused request still counts in its windows (a client hammering a full window
 * stays refused), but spends no credit. Plain logic over a KeyUsageStore (the embedded one, or a
 * shared one behind leases); services/auth/api-keys/key-limits.mixin calls it on every use.
 */
import type { TokenEntity } from "../../tokens/token-types";
import {
	limitState,
	limitsOf,
	nextRefill,
	refillDue,
	reportedLimit,
	usageIdOf,
	windowOf,
	type KeyLimitResult
} from "./key-limits";
import type { KeyUsageStore } from "./key-usage-store";

export async function useKey(
	store: KeyUsageStore,
	key: Pick<TokenEntity, "id" | "data">,
	now: number
): Promise<KeyLimitResult> {
	const { rateLimits = [], credits } = limitsOf(key.data);
	// Most keys have no limits: on the check's path they cost nothing more.
	if (rateLimits.length === 0 && !credits) {
		return { code: "VALID", rateLimits: [], reported: null, credits: null };
	}
	const usageId = usageIdOf(key);
	const states = await Promise.all(
		rateLimits.map(async limit => {
			const { start, end } = windowOf(now, limit.duration);
			return limitState(
				limit,
				await store.hit(usageId, limit.name, start, end, limit.limit),
				end
			);
		})
	);
	const reported = reportedLimit(states);
	if (reported && !reported.passed) {
		return {
			code: "RATE_LIMITED",
			rateLimits: states,
			reported,
			credits: null,
			retryAfter: Math.max(1, Math.ceil((reported.reset - now) / 1000))
		};
	}
	if (!credits) return { code: "VALID", rateLimits: states, reported, credits: null };
	const left = await store.spendCredit(usageId, refillDue(credits.refill, now));
	if (left !== null) return { code: "VALID", rateLimits: states, reported, credits: left };
	const retryAfter = credits.refill
		? Math.max(1, Math.ceil((nextRefill(now, credits.refill.interval) - now) / 1000))
		: undefined;
	return {
		code: "USAGE_EXCEEDED",
		rateLimits: states,
		reported,
		credits: 0,
		...(retryAfter === undefined ? {} : { retryAfter })
	};
}
