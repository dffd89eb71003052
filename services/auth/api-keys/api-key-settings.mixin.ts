/**
 * What key users rely on beside scopes and expiry: metadata returned on verification, disabling a
 * key without deleting it, rerolling it with an overlap so deployments can switch over, and
 * verification with a reason (`auth.verifyKey`). See docs/api-keys.md.
 */
import { fieldError } from "../../../lib/broker/field-error";
import { TOKEN_TYPES, type TokenEntity } from "../../../lib/tokens/token-types";
import { TOKEN_STRING } from "../../../lib/auth/auth-params";
import { noSuchApiKey } from "../../../lib/auth/auth-errors";
import { assertStorableData } from "../../../lib/store/storable-data";
import type { UserEventPayload } from "../../../lib/auth/auth-types";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthThis } from "../auth-internals";
import {
	CREDITS_PARAM,
	RATE_LIMITS_PARAM,
	assertRateLimitNames,
	limitsOf,
	usageIdOf,
	type CreditSettings,
	type LimitState,
	type RateLimit
} from "../../../lib/auth/api-key-usage/key-limits";

/** Longest overlap of a reroll: a day. */
const MAX_OVERLAP = 86400;
/** Metadata is small: it travels with every verification. */
const MAX_METADATA_BYTES = 1024;

export const METADATA = { type: "object", optional: true } as const;

export type KeyCode =
	"VALID" | "NOT_FOUND" | "EXPIRED" | "DISABLED" | "RATE_LIMITED" | "USAGE_EXCEEDED";

export interface KeyVerification {
	valid: boolean;
	code: KeyCode;
	keyId?: string;
	owner?: string;
	name?: string | null;
	scopes?: string[];
	metadata?: Record<string, unknown> | null;
	expiresAt?: string | null;
	/** Credits left after this check; null for a key without credits. */
	credits?: number | null;
	/** Each rate limit's state after this check. */
	rateLimits?: LimitState[];
	/** Seconds until a refused check could pass, when it can. */
	retryAfter?: number;
}

/** Checks metadata for storing: plain JSON, at most 1 kB. */
export function assertMetadata(metadata: Record<string, unknown> | undefined): void {
	if (metadata === undefined) return;
	assertStorableData(metadata, "metadata");
	if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
		throw fieldError(
			"metadata",
			"objectMaxSize",
			"The 'metadata' field is at most 1 kB of JSON."
		);
	}
}

export function isDisabled(key: Pick<TokenEntity, "data">): boolean {
	return key.data?.disabled === true;
}

interface UpdateKeyParams {
	id: string;
	enabled?: boolean;
	metadata?: Record<string, unknown>;
	rateLimits?: RateLimit[];
	credits?: CreditSettings;
}
interface RerollParams {
	id: string;
	overlap?: number;
}

const ApiKeySettingsMixin = authMixin({
	actions: {
		/** Enables or disables one of the caller's keys, or replaces its metadata. */
		updateApiKey: {
			params: {
				$$strict: true,
				id: { type: "string", min: 1, max: 64 },
				enabled: { type: "boolean", optional: true },
				metadata: METADATA,
				rateLimits: RATE_LIMITS_PARAM,
				credits: CREDITS_PARAM
			},
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<UpdateKeyParams>): Promise<TokenEntity> {
				const caller = this.requireSession(ctx, "Changing API keys");
				await this.requireTotpSession(caller, await this.requireCallerRecord(ctx));
				const key = await this.ownApiKey(ctx, caller.id, ctx.params.id);
				assertMetadata(ctx.params.metadata);
				assertRateLimitNames(ctx.params.rateLimits);
				const { rateLimits, credits } = ctx.params;
				const limits = {
					...limitsOf(key.data),
					...(rateLimits !== undefined ? { rateLimits } : {}),
					...(credits !== undefined ? { credits } : {})
				};
				const data = {
					...key.data,
					...(ctx.params.metadata !== undefined ? { metadata: ctx.params.metadata } : {}),
					...(ctx.params.enabled !== undefined ? { disabled: !ctx.params.enabled } : {}),
					...(rateLimits !== undefined || credits !== undefined ? { limits } : {})
				};
				// Credits first: a key never runs on settings whose credits were not written.
				if (credits) await this.setKeyCredits(usageIdOf(key), credits);
				const updated = await ctx.call<TokenEntity | null, object>("tokens.change", {
					id: key.id,
					owner: caller.id,
					data
				});
				if (!updated) throw noSuchApiKey();
				return updated;
			}
		},

		/**
		 * A new key with the old one's name, scopes, metadata and deadline; the old one works on for
		 * `overlap` seconds (0 to a day; 0: it dies now), then dies. The new key is in the answer only.
		 */
		rerollApiKey: {
			params: {
				$$strict: true,
				id: { type: "string", min: 1, max: 64 },
				overlap: { type: "number", integer: true, min: 0, max: MAX_OVERLAP, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<RerollParams>) {
				const caller = this.requireSession(ctx, "Rerolling API keys");
				await this.requireTotpSession(caller, await this.requireCallerRecord(ctx));
				const old = await this.ownApiKey(ctx, caller.id, ctx.params.id);
				const remaining =
					old.expiresAt === null
						? null
						: Math.max(1, Math.floor((Date.parse(old.expiresAt) - Date.now()) / 1000));
				const overlap = Math.min(ctx.params.overlap ?? 0, remaining ?? MAX_OVERLAP);
				// The new key spends the old one's credits and windows (shared, not copied).
				const { token, ...key } = await ctx.call<TokenEntity & { token: string }, object>(
					"tokens.generate",
					{
						type: TOKEN_TYPES.apiKey,
						owner: caller.id,
						...(old.name === null ? {} : { name: old.name }),
						scopes: old.scopes,
						data: { ...old.data, usageId: usageIdOf(old) },
						...(remaining === null ? {} : { expiry: remaining })
					}
				);
				// While both live, both count toward the cap; a key that dies now does not.
				await this.keepWithinKeyCap(ctx, caller.id, key.id, overlap === 0 ? old.id : null);
				const previous =
					overlap === 0
						? await ctx.call<TokenEntity | null, object>("tokens.revoke", {
								id: old.id,
								owner: caller.id
							})
						: await ctx.call<TokenEntity | null, object>("tokens.change", {
								id: old.id,
								owner: caller.id,
								expiry: overlap
							});
				ctx.emit<UserEventPayload & { keyId: string; previous: string }>(
					"auth.apiKeyRerolled",
					{ userId: caller.id, keyId: key.id, previous: old.id }
				);
				return {
					key,
					token,
					previous: { id: old.id, expiresAt: overlap === 0 ? null : previous?.expiresAt }
				};
			}
		},

		/**
		 * For trusted services: whether a key passes, and why not (`NOT_FOUND`, `EXPIRED`,
		 * `DISABLED`), with its metadata and scopes (never more than its owner may have today).
		 * Counts as a use ("last used", batched). Failures count against the failure budget.
		 */
		verifyKey: {
			visibility: "public",
			params: { $$strict: true, key: TOKEN_STRING },
			async handler(ctx: AuthContext<{ key: string }>): Promise<KeyVerification> {
				const { result, entity } = await ctx.call<
					{ result: string; entity: TokenEntity | null },
					object
				>("tokens.inspect", {
					type: TOKEN_TYPES.apiKey,
					token: ctx.params.key,
					isUsed: true
				});
				const user = entity && (await this.store.findById(entity.owner));
				if (!entity || !user) return { valid: false, code: "NOT_FOUND" };
				const state: KeyCode =
					result === "expired" ? "EXPIRED" : isDisabled(entity) ? "DISABLED" : "VALID";
				// Only a key that passes otherwise counts against its limits.
				const limits = state === "VALID" ? await this.applyKeyLimits(entity) : null;
				const code = limits?.code ?? state;
				return {
					valid: code === "VALID",
					code,
					...(limits
						? {
								credits: limits.credits,
								rateLimits: limits.rateLimits,
								...(limits.retryAfter === undefined
									? {}
									: { retryAfter: limits.retryAfter })
							}
						: {}),
					keyId: entity.id,
					owner: entity.owner,
					name: entity.name,
					scopes: entity.scopes.filter(s => user.scopes.includes(s)),
					metadata:
						(entity.data?.metadata as Record<string, unknown> | undefined) ?? null,
					expiresAt: entity.expiresAt
				};
			}
		}
	},

	methods: {
		/** One of the caller's API keys by id; 404 otherwise. */
		async ownApiKey(
			this: AuthThis,
			ctx: AuthContext,
			owner: string,
			id: string
		): Promise<TokenEntity> {
			const key = (await this.apiKeysOf(ctx, owner)).find(k => k.id === id);
			if (!key) throw noSuchApiKey();
			return key;
		}
	}
});

export default ApiKeySettingsMixin;
