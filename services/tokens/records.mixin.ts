/**
 * One token's record: made and stored by `storeNew` (for generate and generateCode), changed and
 * inspected by trusted services (public, never on the gateway): `change` replaces its data or sets
 * its expiry (an API key disabled, or ended after a reroll's overlap); `inspect` is `check` that
 * also says why a token does not pass.
 */
import { tokensMixin } from "./tokens-internals";
import { randomUUID } from "node:crypto";
import { type Context } from "moleculer";
import { assertStorableData } from "../../lib/store/storable-data";
import { TOKEN_PARAM } from "../../lib/tokens/format";
import {
	toEntity,
	type ClientMeta,
	type TokenEntity,
	type TokenEventPayload
} from "../../lib/tokens/token-types";
import { isExpired, type TokenRecord } from "../../lib/tokens/store/token-store";
import type { LookupResult, NewToken, TokensThis } from "./tokens-internals";
import { count } from "../../lib/broker/project-metrics";
import { MAX_EXPIRY, OWNER } from "../../lib/tokens/token-params";
import { describeCause } from "../../lib/store/store-errors";

interface UpdateParams {
	id: string;
	owner: string;
	data?: Record<string, unknown> | null;
	expiry?: number;
}

interface InspectParams {
	type: string;
	token: string;
	isUsed?: boolean;
}

/** What a new token's record is made of; the rest (id, times) comes from `storeNew`. */

const RecordsMixin = tokensMixin({
	actions: {
		/**
		 * Replaces `data` and/or sets the expiry to `expiry` seconds from now (0: now) of the token
		 * with this id, only when `owner` owns it. The updated entity, or null.
		 */
		// Not "update": that is moleculer-db's CRUD action, which this project never publishes.
		change: {
			visibility: "public",
			params: {
				$$strict: true,
				id: { type: "string", min: 1, max: 64 },
				owner: OWNER,
				data: { type: "object", optional: true, nullable: true },
				expiry: { type: "number", integer: true, min: 0, max: MAX_EXPIRY, optional: true }
			},
			async handler(ctx: Context<UpdateParams>): Promise<TokenEntity | null> {
				const { id, owner, data, expiry } = ctx.params;
				if (data) assertStorableData(data, "data");
				const record = await this.store.update(id, owner, {
					...(data !== undefined ? { data } : {}),
					...(expiry !== undefined ? { expiresAt: Date.now() + expiry * 1000 } : {})
				});
				if (record) this.announceChanged([record]);
				return record && toEntity(record);
			}
		},

		/**
		 * Records uses of tokens another service answered from its cache (auth's API keys): "last
		 * used", batched like check's `isUsed`. For trusted services.
		 */
		markUsed: {
			visibility: "public",
			params: {
				$$strict: true,
				ids: { type: "array", max: 10_000, items: { type: "string", min: 1, max: 64 } }
			},
			handler(ctx: Context<{ ids: string[] }>): { marked: number } {
				const now = Date.now();
				for (const id of ctx.params.ids) this.touches.add(id, now);
				return { marked: ctx.params.ids.length };
			}
		},

		/**
		 * `check` with the reason: `{ result, entity }`, the entity for a valid or an expired token.
		 * Failures count against the caller's failure budget as `check`'s do.
		 */
		inspect: {
			visibility: "public",
			params: {
				$$strict: true,
				type: { type: "enum", values: [] },
				token: TOKEN_PARAM,
				isUsed: { type: "boolean", optional: true }
			},
			async handler(
				ctx: Context<InspectParams, ClientMeta>
			): Promise<{ result: LookupResult; entity: TokenEntity | null }> {
				const { type, token, isUsed } = ctx.params;
				const now = Date.now();
				const { result, record } = await this.lookup(type, token, undefined, now);
				if (result !== "valid") await this.countFailure(ctx, "inspect", type, result);
				else if (isUsed) this.recordUse(record!, now);
				return { result, entity: record && toEntity(record) };
			}
		}
	},

	methods: {
		/**
		 * Tells every node's caches (auth's API keys) that these tokens changed or are gone: ids
		 * only, and for a large removal the owner. Not awaited by the caller: the broadcast reaches
		 * this node's services before it returns, the others as fast as the transporter goes.
		 */
		announceChanged(this: TokensThis, records: TokenRecord[]): void {
			if (records.length === 0) return;
			const owner = records[0].owner;
			const oneOwner = records.length > 1000 && records.every(r => r.owner === owner);
			const sent = this.broker.broadcast(
				"tokens.changed",
				oneOwner ? { owner } : { ids: records.map(r => r._id) }
			);
			Promise.resolve(sent).catch((err: unknown) =>
				this.logger.warn(`Could not announce changed tokens: ${describeCause(err)}`)
			);
		},

		/** Stores a new token's record, counts it and tells the others (never with the token). */
		async storeNew(
			this: TokensThis,
			ctx: Context,
			operation: string,
			token: NewToken
		): Promise<TokenRecord> {
			const now = Date.now();
			const { type, owner, ttl } = token;
			const record: TokenRecord = {
				_id: randomUUID(),
				type,
				owner,
				hash: token.hash,
				name: token.name ?? null,
				scopes: token.scopes ?? [],
				data: token.data ?? null,
				createdAt: now,
				expiresAt: ttl === null ? null : now + ttl * 1000,
				lastUsedAt: null
			};
			await this.store.insert(record);
			count(this.broker, "mtk.tokens.operations.total", {
				operation,
				type,
				result: "created"
			});
			ctx.emit<TokenEventPayload>("tokens.created", { id: record._id, type, owner });
			return record;
		},

		/** What a check finds: the record and whether it is valid, or why not. */
		async lookup(
			this: TokensThis,
			type: string,
			token: string,
			owner: string | undefined,
			now: number
		): Promise<{ result: LookupResult; record: TokenRecord | null }> {
			const match = this.matchFor(type, token, owner);
			const record = match && (await this.store.findByHashes(match.hashes));
			const result: LookupResult = !match
				? "malformed"
				: !record || record.type !== type
					? "not_found"
					: owner !== undefined && record.owner !== owner
						? "wrong_owner"
						: isExpired(record, now)
							? "expired"
							: "valid";
			return { result, record: result === "valid" || result === "expired" ? record : null };
		}
	}
});

export default RecordsMixin;
