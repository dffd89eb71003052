/**
 * API keys of `auth`: `api-key` tokens owned by a user, with scopes never beyond the owner's, a
 * cap that holds under concurrent creates, and management only from a signed-in session.
 */

import { TOKEN_TYPES } from "../../../lib/tokens/token-types";
import { DAY, MAX_TOKEN_LENGTH, SCOPES, TOKEN_STRING } from "../../../lib/auth/auth-params";
import {
	invalidToken,
	keyLimitRefused,
	noSuchApiKey,
	scopeNotAllowed,
	tooManyKeys
} from "../../../lib/auth/auth-errors";
import type { ResolvedUser, UserEventPayload } from "../../../lib/auth/auth-types";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import { METADATA, assertMetadata, isDisabled } from "./api-key-settings.mixin";
import {
	CREDITS_PARAM,
	RATE_LIMITS_PARAM,
	assertRateLimitNames,
	keyData,
	rateLimitHeaders,
	usageIdOf
} from "../../../lib/auth/api-key-usage/key-limits";
import { authMixin } from "../auth-internals";
import type {
	ApiKeyParams,
	AuthContext,
	AuthThis,
	CreateApiKeyParams,
	IdParams
} from "../auth-internals";

const ApiKeysMixin = authMixin({
	actions: {
		/** Who an API key belongs to, for the gateway; records its use. */
		resolveApiKey: {
			params: { $$strict: true, key: TOKEN_STRING },
			async handler(ctx: AuthContext<ApiKeyParams>): Promise<ResolvedUser> {
				if (ctx.params.key.length > MAX_TOKEN_LENGTH) throw invalidToken();
				const entity = await this.checkedApiKey(ctx, ctx.params.key);
				// A disabled key is refused like an unknown one (auth.verifyKey says which).
				if (!entity || isDisabled(entity)) throw invalidToken();
				const user = await this.cachedUser(entity.owner);
				if (!user) throw invalidToken();
				this.refuseLocked(user);
				const limits = await this.applyKeyLimits(entity);
				if (limits.code !== "VALID") throw keyLimitRefused(limits);
				// A key never carries more than its owner may have today.
				const scopes = entity.scopes.filter(s => user.scopes.includes(s));
				return {
					user: this.toAuthUser(user, scopes, "api-key"),
					profile: this.toPublicUser(user),
					...(limits.reported ? { rateLimit: rateLimitHeaders(limits.reported) } : {})
				};
			}
		},

		/** Creates a named API key for the signed-in user; the key itself is in this answer only. */
		createApiKey: {
			params: {
				$$strict: true,
				name: { type: "string", min: 1, max: 100 },
				expiry: {
					type: "number",
					integer: true,
					positive: true,
					max: 10 * 365 * DAY,
					optional: true
				},
				scopes: { ...SCOPES, optional: true },
				metadata: METADATA,
				rateLimits: RATE_LIMITS_PARAM,
				credits: CREDITS_PARAM
			},
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<CreateApiKeyParams>
			): Promise<{ key: TokenEntity; token: string }> {
				const caller = this.requireSession(ctx, "Creating API keys");
				const user = await this.requireCallerRecord(ctx);
				await this.requireTotpSession(caller, user);
				const scopes = ctx.params.scopes ?? [];
				const notAllowed = scopes.filter(s => !user.scopes.includes(s));
				assertMetadata(ctx.params.metadata);
				assertRateLimitNames(ctx.params.rateLimits);
				if (notAllowed.length > 0) {
					throw scopeNotAllowed(notAllowed);
				}
				if ((await this.apiKeysOf(ctx, user._id)).length >= this.settings.maxApiKeys) {
					throw tooManyKeys(this.settings.maxApiKeys);
				}
				const { token, ...key } = await ctx.call<TokenEntity & { token: string }, object>(
					"tokens.generate",
					{
						type: TOKEN_TYPES.apiKey,
						owner: user._id,
						name: ctx.params.name,
						scopes,
						...(ctx.params.expiry === undefined ? {} : { expiry: ctx.params.expiry }),
						...keyData(ctx.params)
					}
				);
				await this.keepWithinKeyCap(ctx, user._id, key.id);
				if (ctx.params.credits) {
					try {
						await this.setKeyCredits(key.id, ctx.params.credits);
					} catch (err) {
						// A key whose credits were not written would be refused: take it back.
						await ctx.call("tokens.revoke", { id: key.id, owner: user._id });
						throw err;
					}
				}
				ctx.emit<UserEventPayload & { keyId: string }>("auth.apiKeyCreated", {
					userId: user._id,
					keyId: key.id
				});
				return { key, token };
			}
		},

		/** The signed-in user's API keys (never the keys themselves). */
		listApiKeys: {
			params: { $$strict: true },
			async handler(ctx: AuthContext): Promise<TokenEntity[]> {
				return this.apiKeysOf(ctx, this.requireCaller(ctx).id);
			}
		},

		/** Revokes one of the signed-in user's API keys. Needs a session, not an API key. */
		revokeApiKey: {
			params: { $$strict: true, id: { type: "string", min: 1, max: 64 } },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<IdParams>): Promise<{ ok: true }> {
				const caller = this.requireSession(ctx, "Revoking API keys");
				// tokens.revoke takes any type: make sure this id is one of the caller's API keys.
				const keys = await this.apiKeysOf(ctx, caller.id);
				const key = keys.find(k => k.id === ctx.params.id);
				if (!key) throw noSuchApiKey();
				const removed = await ctx.call<TokenEntity | null, object>("tokens.revoke", {
					id: ctx.params.id,
					owner: caller.id
				});
				if (!removed) throw noSuchApiKey();
				// A balance shared with a rerolled key lives on with that key.
				const usageId = usageIdOf(key);
				if (!keys.some(k => k.id !== key.id && usageIdOf(k) === usageId)) {
					await this.keyUsage.removeKey(usageId);
					this.callersChanged({ usage: [usageId] });
				}
				ctx.emit<UserEventPayload & { keyId: string }>("auth.apiKeyRevoked", {
					userId: caller.id,
					keyId: removed.id
				});
				return { ok: true };
			}
		}
	},

	methods: {
		apiKeysOf(this: AuthThis, ctx: AuthContext, owner: string): Promise<TokenEntity[]> {
			return ctx.call<TokenEntity[], object>("tokens.listByOwner", {
				owner,
				type: TOKEN_TYPES.apiKey
			});
		},

		/**
		 * The cap holds under concurrent creates on any number of nodes: every new key looks at its
		 * place among the owner's keys, oldest first, and one past the cap takes itself back. All
		 * creators see the same order, so exactly the cap's worth survive.
		 */
		async keepWithinKeyCap(
			this: AuthThis,
			ctx: AuthContext,
			owner: string,
			keyId: string,
			dying: string | null = null
		) {
			const rank = (await this.apiKeysOf(ctx, owner))
				.filter(k => k.id !== dying)
				.sort((a, b) =>
					a.createdAt === b.createdAt
						? a.id.localeCompare(b.id)
						: a.createdAt.localeCompare(b.createdAt)
				)
				.findIndex(k => k.id === keyId);
			if (rank === -1 || rank >= this.settings.maxApiKeys) {
				await ctx.call("tokens.revoke", { id: keyId, owner });
				throw tooManyKeys(this.settings.maxApiKeys);
			}
		}
	}
});

export default ApiKeysMixin;
