/**
 * Rate limits and credits of API keys: decided in lib/auth/api-key-usage/key-use on every use of a
 * key through the gateway (auth.resolveApiKey) and by auth.verifyKey, kept in a KeyUsageStore
 * beside the users (lib/auth/api-key-usage/key-usage-store). See docs/api-keys.md.
 */
import {
	refillPeriodStart,
	type CreditSettings,
	type KeyLimitResult
} from "../../../lib/auth/api-key-usage/key-limits";
import { useKey } from "../../../lib/auth/api-key-usage/key-use";
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

		/** One use of a key (lib/auth/api-key-usage/key-use). */
		applyKeyLimits(this: AuthThis, key: TokenEntity): Promise<KeyLimitResult> {
			return useKey(this.keyUsage, key, Date.now());
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
