/**
 * The `tokens` service: issues, checks and revokes security tokens (`generate`, `check` and
 * `remove` with exactly the contract's parameters, and what other services build on them).
 *
 * Tokens are random strings in a recognisable format (lib/tokens/format); the store keeps only their
 * HMAC under TOKEN_SALT (lib/tokens/hasher), so a leaked database yields no usable token.
 */
import { type Context, type ServiceSchema } from "moleculer";
import CodesMixin, { notThisKind } from "./token-codes.mixin";
import { DAY, MAX_EXPIRY, OWNER } from "../../lib/tokens/token-params";
import RecordsMixin from "./records.mixin";
import type {
	TokensLocalVars,
	TokensMethods,
	TokensSettings,
	TokensThis,
	TokenTypeSettings
} from "./tokens-internals";
import { count, countCleanup, registerMetrics } from "../../lib/broker/project-metrics";

import createDbMixin from "../../mixins/db.mixin";
import * as tokenStores from "../../lib/tokens/store/token-adapters";
import CronMixin, {
	cleanupJob,
	cleanupParams,
	cleanupScheduleFromEnv
} from "../../mixins/cron.mixin";
import { durationFromEnv } from "../../lib/config/durations";
import { wholeNumberFromEnv } from "../../lib/config/env";

import { createToken, isWellFormedToken, TOKEN_PARAM } from "../../lib/tokens/format";
import SecretTokensMixin from "../../mixins/secret-tokens.mixin";
import { TouchBuffer } from "../../lib/tokens/touch-buffer";
import { LookupFailures } from "../../lib/tokens/lookup-failures/failure-limits";
import { assertStorableData } from "../../lib/store/storable-data";
import { type TokenRecord, type TokenStore } from "../../lib/tokens/store/token-store";
import {
	toEntity,
	type CheckParams,
	type ClientMeta,
	type ConsumeParams,
	type GenerateParams,
	type OwnerParams,
	type RemoveParams,
	type RemovedManyPayload,
	type RevokeParams,
	type TokenEntity,
	type TokenEventPayload
} from "../../lib/tokens/token-types";

export type {
	LookupResult,
	TokensSettings,
	TokensThis,
	TokenTypeSettings
} from "./tokens-internals";

const OPERATIONS = "mtk.tokens.operations.total";
/** How often buffered "last used" marks are written. */
const TOUCH_FLUSH_MS = 1000;
/** Token strings are never echoed: a wrong shape is "not found", not a validation error. */
const TOKEN = TOKEN_PARAM;

const TokensService: ServiceSchema<TokensSettings, TokensMethods, TokensLocalVars> = {
	name: "tokens",

	mixins: [
		createDbMixin<TokenStore>("tokens", tokenStores),
		CronMixin,
		SecretTokensMixin,
		CodesMixin,
		RecordsMixin
	],

	settings: {
		types: {
			verification: { prefix: "mtv", ttl: DAY },
			passwordless: { prefix: "mtp", ttl: 15 * 60 },
			"password-reset": { prefix: "mtr", ttl: 3600 },
			"api-key": { prefix: "mtk", ttl: null },
			refresh: { prefix: "mtf", ttl: 30 * DAY },
			action: { prefix: "mta", ttl: 7 * DAY },
			"email-code": { prefix: "mtc", ttl: 5 * 60, codeDigits: 6 },
			device: { prefix: "mtd", ttl: 90 * DAY },
			challenge: { prefix: "mth", ttl: 5 * 60 },
			"passkey-challenge": { prefix: "mtw", ttl: 5 * 60 }
		},
		touchInterval: durationFromEnv(process.env, "TOKENS_TOUCH_INTERVAL", 60),
		cleanup: { ...cleanupScheduleFromEnv("TOKENS", "0 0 * * *"), batchSize: 1000 },
		failureLimit: {
			perClient: { burst: 30, perSecond: 0.5 },
			perNode: {
				burst: wholeNumberFromEnv(process.env, "TOKENS_NODE_FAILURE_BURST", 10_000),
				perSecond: wholeNumberFromEnv(process.env, "TOKENS_NODE_FAILURES_PER_SECOND", 200)
			}
		}
	},

	crons: [
		cleanupJob<TokensThis>("removeExpired", async function (this: TokensThis) {
			await this.broker.call("tokens.removeExpired", {}, { nodeID: this.broker.nodeID });
		})
	],

	actions: {
		/** Creates a token; the only response that ever contains the plaintext `token`. */
		generate: {
			params: {
				$$strict: true,
				type: { type: "enum", values: [] },
				expiry: {
					type: "number",
					integer: true,
					positive: true,
					max: MAX_EXPIRY,
					optional: true
				},
				owner: OWNER,
				name: { type: "string", min: 1, max: 100, optional: true },
				scopes: {
					type: "array",
					items: { type: "string", min: 1, max: 64 },
					max: 32,
					unique: true,
					optional: true
				},
				data: { type: "object", optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(ctx: Context<GenerateParams>): Promise<TokenEntity & { token: string }> {
				const { type, expiry, owner, name, scopes, data } = ctx.params;
				if (this.typeOf(type).codeDigits) throw notThisKind("type", "a code type");
				assertStorableData(data, "data");
				const ttl = expiry ?? this.typeOf(type).ttl;
				const token = createToken(this.typeOf(type).prefix);
				const record = await this.storeNew(ctx, "generate", {
					type,
					owner,
					hash: this.hasher.hash(token),
					name,
					scopes,
					data,
					ttl
				});
				return { ...toEntity(record), token };
			}
		},

		/** The token's entity when it exists, has this type (and owner) and is not expired; else null. */
		check: {
			params: {
				$$strict: true,
				type: { type: "enum", values: [] },
				token: TOKEN,
				owner: { ...OWNER, optional: true },
				isUsed: { type: "boolean", default: false, optional: true }
			},
			async handler(ctx: Context<CheckParams, ClientMeta>): Promise<TokenEntity | null> {
				const { type, token, owner, isUsed } = ctx.params;
				const now = Date.now();
				// A valid token always answers; only failures are limited (see countFailure).
				const { result, record } = await this.lookup(type, token, owner, now);
				if (result !== "valid") return this.countFailure(ctx, "check", type, result);
				count(this.broker, OPERATIONS, { operation: "check", type, result });
				if (isUsed) this.recordUse(record!, now);
				return toEntity(record!);
			}
		},

		/** Removes a token (expired or not); returns the removed entity or null. */
		remove: {
			params: {
				$$strict: true,
				type: { type: "enum", values: [] },
				token: TOKEN
			},
			async handler(ctx: Context<RemoveParams>): Promise<TokenEntity | null> {
				const match = this.matchFor(ctx.params.type, ctx.params.token);
				if (!match) return null;
				const record = await this.store.remove(match);
				const labels = { operation: "remove", type: ctx.params.type };
				count(this.broker, OPERATIONS, {
					...labels,
					result: record ? "removed" : "not_found"
				});
				if (!record) return null;
				this.emitRemoved(ctx, [record], "removed");
				return toEntity(record);
			}
		},

		/**
		 * Check and remove in one atomic step, for single-use tokens: of any number of concurrent
		 * calls with one token, exactly one gets the entity. Never retried automatically: the first
		 * attempt may have spent the token even if its answer was lost.
		 *
		 * `raced: true` is for a caller holding its own proof that the token was issued (auth's
		 * refresh family knows its live token's fingerprint): its miss is a concurrent consume that
		 * won, not a guess, and is not counted against the client's failed-lookup budget.
		 */
		consume: {
			params: {
				$$strict: true,
				type: { type: "enum", values: [] },
				token: TOKEN,
				owner: { ...OWNER, optional: true },
				raced: { type: "boolean", optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(ctx: Context<ConsumeParams, ClientMeta>): Promise<TokenEntity | null> {
				const { type } = ctx.params;
				const match = this.matchFor(type, ctx.params.token, ctx.params.owner);
				const record = match && (await this.store.consume(match, Date.now()));
				if (!record && match && ctx.params.raced === true) {
					count(this.broker, OPERATIONS, { operation: "consume", type, result: "raced" });
					return null;
				}
				if (!record) {
					return this.countFailure(
						ctx,
						"consume",
						type,
						match ? "not_found" : "malformed"
					);
				}
				count(this.broker, OPERATIONS, { operation: "consume", type, result: "valid" });
				ctx.emit<TokenEventPayload>("tokens.consumed", {
					id: record._id,
					type: record.type,
					owner: record.owner
				});
				return toEntity(record);
			}
		},

		/** An owner's tokens, oldest first, for "your API keys" pages. */
		listByOwner: {
			params: {
				$$strict: true,
				owner: OWNER,
				type: { type: "enum", values: [], optional: true }
			},
			async handler(ctx: Context<OwnerParams>): Promise<TokenEntity[]> {
				const records = await this.store.listByOwner(ctx.params.owner, ctx.params.type);
				return records.map(toEntity);
			}
		},

		/** Removes all tokens of an owner, optionally of one type; returns how many. */
		removeByOwner: {
			params: {
				$$strict: true,
				owner: OWNER,
				type: { type: "enum", values: [], optional: true }
			},
			async handler(ctx: Context<OwnerParams>): Promise<{ removed: number }> {
				const records = await this.store.removeByOwner(ctx.params.owner, ctx.params.type);
				this.emitRemoved(ctx, records, "removedByOwner");
				return { removed: records.length };
			}
		},

		/** Removes one token by id, only if it belongs to `owner` (e.g. revoking an API key). */
		revoke: {
			params: {
				$$strict: true,
				id: { type: "string", min: 1, max: 64 },
				owner: OWNER
			},
			async handler(ctx: Context<RevokeParams>): Promise<TokenEntity | null> {
				const record = await this.store.removeById(ctx.params.id, ctx.params.owner);
				if (!record) return null;
				this.emitRemoved(ctx, [record], "revoked");
				return toEntity(record);
			}
		},

		/** Live and expired token counts by type (for operators, e.g. from the REPL). */
		stats: {
			visibility: "public",
			params: { $$strict: true },
			handler(this: TokensThis): Promise<Record<string, { live: number; expired: number }>> {
				return this.store.countByType(Date.now());
			}
		},

		/**
		 * Removes expired tokens in batches; called by the nightly job. Public (callable from other
		 * nodes, e.g. an operator's REPL) but never published through the gateway.
		 */
		removeExpired: {
			visibility: "public",
			params: cleanupParams,
			async handler(ctx: Context<{ batchSize?: number }>): Promise<{ removed: number }> {
				const removed = await this.removeExpiredTokens(
					// `?.`: a caller may send null params, which pass validation as {}.
					ctx.params?.batchSize ?? this.settings.cleanup.batchSize
				);
				return { removed };
			}
		}
	},

	methods: {
		typeOf(this: TokensThis, type: string): TokenTypeSettings {
			return this.settings.types[type];
		},

		/** The store lookup for a token, or null when its shape alone shows it cannot exist. */
		matchFor(this: TokensThis, type: string, token: string, owner?: string) {
			if (!isWellFormedToken(token, this.typeOf(type).prefix)) return null;
			return { hashes: this.hasher.candidates(token), type, owner };
		},

		/**
		 * Records a use at most once per `touchInterval` per token, written in batches by the touch
		 * buffer: a write on every check would cap checks at the store's write rate. The stored "last
		 * used" is therefore at most `touchInterval` (+ one flush) stale; this answer shows `now`.
		 */
		recordUse(this: TokensThis, record: TokenRecord, now: number): void {
			const last = this.touches.pending(record._id) ?? record.lastUsedAt;
			if (last !== null && now - last < this.settings.touchInterval * 1000) {
				record.lastUsedAt = last;
				return;
			}
			record.lastUsedAt = now;
			this.touches.add(record._id, now);
		},

		/** A failed lookup: null, or 429 once the caller has no failures left. */
		async countFailure(
			this: TokensThis,
			ctx: Context<unknown, ClientMeta>,
			operation = "check",
			type = "",
			result = "not_found"
		): Promise<null> {
			const database = this.sharedDatabase();
			const limits = this.settings.failureLimit;
			this.failures ??= database
				? LookupFailures.shared(database, limits)
				: LookupFailures.inMemory(limits);
			await this.failures.count(ctx.meta?.ip, ctx.nodeID ?? this.broker.nodeID, () => {
				count(this.broker, OPERATIONS, { operation, type, result: "limited" });
				count(this.broker, "mtk.limit_refusals.total", { limit: "tokens.failures" });
			});
			count(this.broker, OPERATIONS, { operation, type, result });
			return null;
		},

		/** `tokens.removed` for one token; one `tokens.removedMany` for a bulk removal, not one each. */
		emitRemoved(this: TokensThis, ctx: Context, records: TokenRecord[], reason: string): void {
			if (records.length === 0) return;
			this.announceChanged(records);
			const [first] = records;
			if (records.length === 1) {
				ctx.emit<TokenEventPayload & { reason: string }>("tokens.removed", {
					id: first._id,
					type: first.type,
					owner: first.owner,
					reason
				});
				return;
			}
			ctx.emit<RemovedManyPayload>("tokens.removedMany", {
				owner: records.every(r => r.owner === first.owner) ? first.owner : null,
				type: records.every(r => r.type === first.type) ? first.type : null,
				count: records.length,
				reason
			});
		},

		async removeExpiredTokens(this: TokensThis, batchSize: number): Promise<number> {
			const startedAt = Date.now();
			let total = 0;
			for (;;) {
				const batch = await this.store.removeExpired(startedAt, batchSize);
				if (batch.length === 0) break;
				total += batch.length;
				this.broker.emit("tokens.expiredCleared", {
					count: batch.length,
					tokens: batch.map(r => ({ id: r._id, type: r.type, owner: r.owner }))
				});
				// Let checks waiting behind this batch run before the next one.
				await new Promise(resolve => setImmediate(resolve));
			}
			await this.failures?.forgetFull();
			countCleanup(this.broker, "tokens", total, Date.now() - startedAt);
			this.logger.info(`Removed ${total} expired token(s) in ${Date.now() - startedAt} ms.`);
			return total;
		}
	},

	/** Token types come from settings, so the `type` enums are filled in once settings are merged. */
	merged(schema) {
		const types = Object.keys(schema.settings?.types ?? {});
		// New objects: the schema's own action definitions are shared by every broker in a process.
		for (const [name, action] of Object.entries(schema.actions ?? {})) {
			const params = typeof action === "object" && action.params;
			if (params && typeof params.type === "object" && params.type.type === "enum") {
				schema.actions![name] = {
					...action,
					params: { ...params, type: { ...params.type, values: types } }
				};
			}
		}
	},

	created(this: TokensThis) {
		registerMetrics(this.broker, [
			OPERATIONS,
			"mtk.limit_refusals.total",
			"mtk.cleanup.runs.total",
			"mtk.cleanup.removed.total",
			"mtk.cleanup.duration.seconds"
		]);
		this.touches = new TouchBuffer(
			ids => {
				const now = Date.now();
				return this.store.touch(ids, now, now - this.settings.touchInterval * 1000);
			},
			TOUCH_FLUSH_MS,
			err => this.logger.warn("Could not record the last use of tokens.", err)
		);
	},

	async stopped(this: TokensThis) {
		await this.touches.flush();
	}
};

export default TokensService;
