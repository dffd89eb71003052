import { fieldError } from "../../broker/field-error";

/**
 * API-key limits, the arithmetic without a store: named rate limits (requests per fixed window)
 * and credits (uses left, with an optional refill). The settings live in the key's `data`; what has
 * been spent lives in a KeyUsageStore (lib/auth/api-key-usage/key-usage-store), one per adapter.
 */

/** At most this many requests per `duration` seconds. */
export interface RateLimit {
	name: string;
	limit: number;
	/** Seconds, 1 to a day. */
	duration: number;
}

/** At each new period the credits are set back to `amount` (not added to). */
export interface Refill {
	amount: number;
	/** A calendar day or month (UTC), or a period in seconds counted from the epoch. */
	interval: "day" | "month" | number;
}

export interface CreditSettings {
	/** Uses the key starts with. */
	remaining: number;
	refill?: Refill;
}

/** What a key may have: stored in its `data.limits`. */
export interface KeyLimits {
	rateLimits?: RateLimit[];
	credits?: CreditSettings;
}

export const MAX_RATE_LIMITS = 5;
export const MAX_WINDOW = 86400;
export const MAX_CREDITS = 1_000_000_000;

/** The parameter schemas (fastest-validator) of `rateLimits` and `credits`. */
export const RATE_LIMITS_PARAM = {
	type: "array",
	optional: true,
	max: MAX_RATE_LIMITS,
	items: {
		type: "object",
		strict: true,
		props: {
			name: { type: "string", min: 1, max: 40, pattern: /^[A-Za-z0-9_.:-]+$/ },
			limit: { type: "number", integer: true, positive: true, max: MAX_CREDITS },
			duration: { type: "number", integer: true, positive: true, max: MAX_WINDOW }
		}
	}
} as const;

export const CREDITS_PARAM = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		remaining: { type: "number", integer: true, min: 0, max: MAX_CREDITS },
		refill: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				amount: { type: "number", integer: true, positive: true, max: MAX_CREDITS },
				interval: [
					{ type: "enum", values: ["day", "month"] },
					{ type: "number", integer: true, min: 60, max: 366 * 86400 }
				]
			}
		}
	}
} as const;

/** The fixed window `now` falls in, for a limit of `duration` seconds: its start and end (ms). */
export function windowOf(now: number, duration: number): { start: number; end: number } {
	const size = duration * 1000;
	const start = Math.floor(now / size) * size;
	return { start, end: start + size };
}

/** When the refill period `now` falls in began (ms); the credits are `amount` from then on. */
export function refillPeriodStart(now: number, interval: Refill["interval"]): number {
	if (interval === "day") return windowOf(now, 86400).start;
	if (interval === "month") {
		const d = new Date(now);
		return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
	}
	return windowOf(now, interval).start;
}

/** When the next refill comes (ms), for a Retry-After on an empty key. */
export function nextRefill(now: number, interval: Refill["interval"]): number {
	if (interval === "day") return windowOf(now, 86400).end;
	if (interval === "month") {
		const d = new Date(now);
		return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
	}
	return windowOf(now, interval).end;
}

/** A key's credits as a store keeps them. */
export interface CreditState {
	remaining: number;
	/** Start of the refill period last applied (ms); 0 before any. */
	refilledAt: number;
}

/** The refill to apply on a spend: back to `amount` if the state predates `periodStart`. */
export interface RefillDue {
	amount: number;
	periodStart: number;
}

export function refillDue(refill: Refill | undefined, now: number): RefillDue | null {
	return refill
		? { amount: refill.amount, periodStart: refillPeriodStart(now, refill.interval) }
		: null;
}

/** One spend on a state: refilled first if due, then one credit taken if there is one. */
export function spend(
	state: CreditState,
	due: RefillDue | null
): { state: CreditState; spent: boolean } {
	const current =
		due && state.refilledAt < due.periodStart
			? { remaining: due.amount, refilledAt: due.periodStart }
			: state;
	if (current.remaining <= 0) return { state: current, spent: false };
	return { state: { ...current, remaining: current.remaining - 1 }, spent: true };
}

/** One rate limit's state after a request, as X-RateLimit-* report it. */
export interface LimitState {
	name: string;
	limit: number;
	remaining: number;
	/** When the window ends (ms). */
	reset: number;
	passed: boolean;
}

export function limitState(limit: RateLimit, hits: number, end: number): LimitState {
	return {
		name: limit.name,
		limit: limit.limit,
		remaining: Math.max(0, limit.limit - hits),
		reset: end,
		passed: hits <= limit.limit
	};
}

/**
 * The limit a response reports: the first one refused, or else the one with the fewest requests
 * left (then the soonest reset).
 */
export function reportedLimit(states: LimitState[]): LimitState | null {
	let chosen: LimitState | null = null;
	for (const s of states) {
		if (!s.passed) return s;
		if (
			!chosen ||
			s.remaining < chosen.remaining ||
			(s.remaining === chosen.remaining && s.reset < chosen.reset)
		) {
			chosen = s;
		}
	}
	return chosen;
}

/** The limits of a key's `data`, if any were set. */
/**
 * Whose credits and windows a key spends: its own, or, for a rerolled key, those of the key it was
 * rerolled from (`data.usageId`). During a reroll's overlap the old and the new key are one
 * client's key in two spellings: they share one balance, so a reroll never adds uses.
 */
export function usageIdOf(key: { id: string; data: Record<string, unknown> | null }): string {
	const shared = key.data?.usageId;
	return typeof shared === "string" ? shared : key.id;
}

export function limitsOf(data: Record<string, unknown> | null | undefined): KeyLimits {
	const limits = data?.limits as KeyLimits | undefined;
	return limits ?? {};
}

/** Limit names are how X-RateLimit-* and verifyKey tell limits apart: one of each. */
export function assertRateLimitNames(limits: RateLimit[] | undefined): void {
	const names = new Set<string>();
	for (const [i, l] of (limits ?? []).entries()) {
		if (names.has(l.name)) {
			throw fieldError(
				`rateLimits[${i}].name`,
				"unique",
				"Each rate limit needs its own name."
			);
		}
		names.add(l.name);
	}
}

/** A new key's `data`: its metadata and its limits, each only if given. */
export function keyData(params: {
	metadata?: Record<string, unknown>;
	rateLimits?: RateLimit[];
	credits?: CreditSettings;
}): { data?: Record<string, unknown> } {
	const limits: KeyLimits = {
		...(params.rateLimits?.length ? { rateLimits: params.rateLimits } : {}),
		...(params.credits ? { credits: params.credits } : {})
	};
	const data = {
		...(params.metadata === undefined ? {} : { metadata: params.metadata }),
		...(Object.keys(limits).length > 0 ? { limits } : {})
	};
	return Object.keys(data).length > 0 ? { data } : {};
}

/** X-RateLimit-Limit, -Remaining and -Reset (epoch seconds) of a limit's state. */
export function rateLimitHeaders(state: LimitState): {
	limit: number;
	remaining: number;
	reset: number;
} {
	return { limit: state.limit, remaining: state.remaining, reset: Math.ceil(state.reset / 1000) };
}

/** The verdict on one use of a key (services/auth/api-keys/key-limits.mixin applies the limits). */
export type KeyLimitCode = "VALID" | "RATE_LIMITED" | "USAGE_EXCEEDED";

export interface KeyLimitResult {
	code: KeyLimitCode;
	/** Every rate limit's state after this use. */
	rateLimits: LimitState[];
	/** What X-RateLimit-* report: the refused limit, or the nearest one. */
	reported: LimitState | null;
	/** Credits left after this use; null for a key without credits. */
	credits: number | null;
	/** Seconds until the refused use could pass; absent when it never will. */
	retryAfter?: number;
}
