/**
 * Rate limits and credits of API keys (lib/auth/api-key-usage/key-limits): applied on every use of a key through
 * the gateway (auth.resolveApiKey) and by auth.verifyKey, kept in a KeyUsageStore beside the users
 * (lib/auth/api-key-usage/key-usage-store). See docs/api-keys.md.
 */
import { clientError } from "../../../lib/auth/auth-errors";
import {
	limitState,
	limitsOf,
	nextRefill,
	rateLimitHeaders,
	refillDue,
	refillPeriodStart,
	reportedLimit,
	windowOf,
	usageIdOf,
	type CreditSettings,
	type KeyLimitResult
} from "../../../lib/auth/api-key-usage/key-limits";
import type {
	KeyUsageStore,
	SharedKeyUsageStore
} from "../../../lib/auth/api-key-usage/key-usage-store";
import { keyUsageStores } from "../../../lib/auth/store/auth-store-adapters";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import { LeasingKeyUsageStore } from "../../../lib/auth/api-key-usage/leasing-key-usage-store";
import { describeCause } from "../../../lib/store/store-errors";
import { authMixin } from "../auth-internals";
import type { AuthThis } from "../auth-internals";

/** The 429 the gateway answers a refused key with; `rateLimit` becomes the X-RateLimit-* headers. */
export function keyLimitRefused(result: KeyLimitResult): Error {
	const rateLimit = result.reported && rateLimitHeaders(result.reported);
	return result.code === "RATE_LIMITED"
		? clientError("Rate limit exceeded.", 429, "RATE_LIMITED", {
				retryAfter: result.retryAfter,
				rateLimit
			})
		: clientError("This key has no uses left.", 429, "USAGE_EXCEEDED", {
				...(result.retryAfter === undefined ? {} : { retryAfter: result.retryAfter }),
				rateLimit
			});
}

const KeyLimitsMixin = authMixin({
	async stopped(this: AuthThis) {
		await this.keyUsage?.close();
	},

	methods: {
		/** Called from auth's `started`, once the store is connected. */
		async startKeyUsage(this: AuthThis): Promise<void> {
			this.keyUsage = await this.openKeyUsageStore();
			await this.keyUsage.ensureIndexes();
		},

		/**
		 * One use of a key: every rate limit counts it, then, if they all let it pass, it spends a
		 * credit. A refused request still counts in its windows (a client hammering a full window
		 * stays refused), but spends no credit.
		 */
		async applyKeyLimits(this: AuthThis, key: TokenEntity): Promise<KeyLimitResult> {
			const { rateLimits = [], credits } = limitsOf(key.data);
			// Most keys have no limits: on the check's path they cost nothing more.
			if (rateLimits.length === 0 && !credits) {
				return { code: "VALID", rateLimits: [], reported: null, credits: null };
			}
			const now = Date.now();
			const usageId = usageIdOf(key);
			const states = await Promise.all(
				rateLimits.map(async limit => {
					const { start, end } = windowOf(now, limit.duration);
					return limitState(
						limit,
						await this.keyUsage.hit(usageId, limit.name, start, end, limit.limit),
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
			const left = await this.keyUsage.spendCredit(usageId, refillDue(credits.refill, now));
			if (left !== null)
				return { code: "VALID", rateLimits: states, reported, credits: left };
			return {
				code: "USAGE_EXCEEDED",
				rateLimits: states,
				reported,
				credits: 0,
				...(credits.refill
					? {
							retryAfter: Math.max(
								1,
								Math.ceil((nextRefill(now, credits.refill.interval) - now) / 1000)
							)
						}
					: {})
			};
		},

		/** A key's credits from its settings: all of them, in the refill period of now. */
		async setKeyCredits(
			this: AuthThis,
			usageId: string,
			credits: CreditSettings
		): Promise<void> {
			await this.keyUsage.setCredits(usageId, {
				remaining: credits.remaining,
				refilledAt: credits.refill
					? refillPeriodStart(Date.now(), credits.refill.interval)
					: 0
			});
			// Other nodes' leases of the old count are dropped, not given back.
			this.callersChanged({ usage: [usageId] });
		},

		leasing(this: AuthThis, store: SharedKeyUsageStore): KeyUsageStore {
			return new LeasingKeyUsageStore(store, err =>
				this.logger.warn(`Could not give back an API-key lease: ${describeCause(err)}`)
			);
		},

		/** Beside the users, like the refresh families and the signing keys. */
		openKeyUsageStore(this: AuthThis): Promise<KeyUsageStore> {
			// Shared stores lease blocks of credits and windows (lib/auth/api-key-usage).
			return this.openSideStore(keyUsageStores(store => this.leasing(store)));
		}
	}
});

export default KeyLimitsMixin;
