/**
 * The hot paths' memory (lib/auth/caller-cache): the gateway's auth.resolveApiKey and
 * auth.resolveAccessToken read an API key, its owner and a JWT's session from here, at most
 * AUTH_CACHE_TTL old, instead of from the store and `tokens` on every request.
 *
 * Forgetting: the stores report their writes (lib/auth/store/notifying-stores), `tokens` broadcasts
 * `tokens.changed` for every key it changes or removes, and this node broadcasts
 * `auth.callersChanged` (ids only) to every auth node. A node that may have missed a broadcast
 * (transporter reconnected, a node joined or came back) forgets everything.
 */
import type { Context } from "moleculer";
import type { CallerChange, CachedSession } from "../../../lib/auth/caller-cache";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import { TOKEN_TYPES, type TokenEntity } from "../../../lib/tokens/token-types";
import { describeCause } from "../../../lib/store/store-errors";
import { authMixin } from "../auth-internals";
import type { AuthThis } from "../auth-internals";

/** `tokens.changed`: tokens changed or removed, by id, or all of an owner's. */
export interface TokensChangedPayload {
	ids?: string[];
	owner?: string;
}

const CallerCacheMixin = authMixin({
	events: {
		"auth.callersChanged": {
			group: "auth",
			handler(ctx: Context<CallerChange>) {
				this.forgetCallers(ctx.params);
			}
		},
		"tokens.changed": {
			handler(ctx: Context<TokensChangedPayload>) {
				const { ids, owner } = ctx.params;
				this.callers.forget({
					...(ids ? { keys: ids } : {}),
					...(owner ? { keyOwners: [owner] } : {})
				});
			}
		},
		// Broadcasts may have been missed: forget everything rather than wait for the TTL.
		"$transporter.connected"(this: AuthThis) {
			this.callers.clear();
		},
		"$node.connected"(this: AuthThis) {
			this.callers.clear();
		}
	},

	async stopped(this: AuthThis) {
		await this.keyUses?.flush();
	},

	methods: {
		/** Forgets a change here at once, and on every other auth node through the broadcast. */
		callersChanged(this: AuthThis, change: CallerChange): void {
			this.forgetCallers(change);
			this.broker
				.broadcast("auth.callersChanged", change, { groups: ["auth"] })
				.catch((err: unknown) => {
					this.logger.warn(`Could not tell the other auth nodes: ${describeCause(err)}`);
				});
		},

		forgetCallers(this: AuthThis, change: CallerChange): void {
			this.callers.forget(change);
			for (const usageId of change.usage ?? []) this.keyUsage?.forgetLeases?.(usageId);
		},

		cachedUser(this: AuthThis, id: string): UserRecord | Promise<UserRecord | null> {
			return this.callers.users.get(id, () => this.store.findById(id));
		},

		cachedSession(this: AuthThis, id: string): CachedSession | Promise<CachedSession | null> {
			return this.callers.sessions.get(id, async () => {
				const family = await this.families.findById(id);
				return family && { id, userId: family.userId, revokedAt: family.revokedAt };
			});
		},

		/**
		 * An API key's record as `tokens.check` answers it (null: unknown, expired), from memory when
		 * it was checked lately. A use answered from memory is still recorded ("last used"), in
		 * batches through `tokens.markUsed`.
		 */
		async checkedApiKey(
			this: AuthThis,
			ctx: Context,
			key: string
		): Promise<TokenEntity | null> {
			const digest = this.callers.keyDigest(key);
			const check = async () => {
				const entity = await ctx.call<TokenEntity | null, object>("tokens.check", {
					type: TOKEN_TYPES.apiKey,
					token: key,
					isUsed: true
				});
				const expiresAt = entity?.expiresAt ? Date.parse(entity.expiresAt) : null;
				return entity && { id: entity.id, owner: entity.owner, expiresAt, entity };
			};
			const kept = this.callers.keys.get(digest, check);
			if (kept instanceof Promise) return (await kept)?.entity ?? null;
			const now = Date.now();
			if (kept.expiresAt !== null && kept.expiresAt <= now) {
				this.callers.keys.forget(name => name === digest);
				return (await check())?.entity ?? null;
			}
			this.keyUses.add(kept.id, now);
			return kept.entity;
		}
	}
});

export default CallerCacheMixin;
