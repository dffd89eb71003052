/**
 * The `pools` service: pools of tokens leased to clients. A named pool holds up to `size` tokens (licence
 * seats, upstream API credentials…) that clients lease: `assign` hands a free token to a client for
 * `leaseTime` seconds, the client renews its lease with `keepAlive` and gives the token back with
 * `unblock`. A lease that is not renewed ends by itself: every assignment treats a token whose lease
 * has run out as free, so no timer or nightly job is needed, and leases survive restarts (they are
 * in the store).
 *
 * Unlike the other tokens of this project, a pool token is handed out again on every assignment, so
 * it cannot be kept only as a hash: it is stored sealed (AES-256-GCM, key derived from TOKEN_SALT,
 * lib/common/sealed-box) next to its HMAC, which serves the lookups.
 */
import { randomInt, randomUUID } from "node:crypto";
import type { Context, Service, ServiceSchema } from "moleculer";
import createDbMixin, { type DbSettings, type StoreOwner } from "../mixins/db.mixin";
import * as poolStores from "../lib/pools/store/pool-adapters";
import { durationFromEnv } from "../lib/config/durations";
import {
	noSuchPoolToken,
	noTokenAvailable,
	notAssigned,
	notHolder,
	poolBusy,
	poolFull
} from "../lib/pools/pool-errors";
import { SealedBox } from "../lib/common/sealed-box";
import { createToken, isWellFormedToken, TOKEN_PARAM } from "../lib/tokens/format";
import SecretTokensMixin, { type SecretTokensOwner } from "../mixins/secret-tokens.mixin";
import {
	configId,
	isLeased,
	isTokenExpired,
	slotKeyOf,
	type PoolConfigRecord,
	type PoolStore,
	type PoolTokenRecord
} from "../lib/pools/store/pool-store";

export interface PoolSettings {
	size: number;
	leaseTime: number;
	tokenTtl: number | null;
}

export interface PoolsSettings extends DbSettings {
	/** Prefix of pool tokens. */
	prefix: string;
	/** Settings of a pool that was never configured (POOLS_DEFAULT_SIZE, _LEASE, _TOKEN_TTL). */
	defaults: PoolSettings;
}

export interface PoolParams {
	pool: string;
}
export interface ConfigureParams extends PoolParams {
	size: number;
	leaseTime: number;
	tokenTtl?: number | null;
}
export interface AssignParams extends PoolParams {
	clientId: string;
}
export interface KeepAliveParams extends PoolParams {
	token: string;
	clientId?: string;
}
export interface UnblockParams extends PoolParams {
	token: string;
	clientId?: string;
}
export interface PoolTokenParams extends PoolParams {
	token: string;
}

export interface PoolStats extends PoolSettings {
	pool: string;
	/** Live tokens in the pool (`size` is the most it may hold). */
	tokens: number;
	available: number;
	assigned: number;
}

/** Event payloads carry pool names, token ids and client ids, never tokens. */
export interface PoolEventPayload {
	pool: string;
	id: string;
	clientId?: string;
}

interface PoolsMethods {
	now(): number;
	poolSettings(pool: string): Promise<PoolSettings>;
	findLiveToken(pool: string, token: string, now: number): Promise<PoolTokenRecord | null>;
	findAnyToken(pool: string, token: string): Promise<PoolTokenRecord | null>;
	unseal(record: PoolTokenRecord): string | null;
}

interface PoolsLocalVars extends StoreOwner<PoolStore>, SecretTokensOwner {
	box: SealedBox;
}

type PoolsThis = Service<PoolsSettings> & PoolsMethods & PoolsLocalVars;

const DAY = 86400;
const MAX_SIZE = 100_000;
const MAX_LEASE = 365 * DAY;
const MAX_TOKEN_TTL = 10 * 365 * DAY;
/** Insert attempts when concurrent generates keep taking the slot we picked. */
const GENERATE_ATTEMPTS = 20;
const POOL = {
	type: "string",
	min: 1,
	max: 64,
	pattern: /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/
} as const;
const CLIENT_ID = { type: "string", min: 1, max: 256 } as const;
/** Token strings are never echoed: a wrong shape is "not found", not a validation error. */
const TOKEN = TOKEN_PARAM;

/** A lease never outlives its token. */
function leaseEnd(now: number, leaseTime: number, expiresAt: number | null): number {
	const end = now + leaseTime * 1000;
	return expiresAt === null ? end : Math.min(end, expiresAt);
}

function positiveIntegerFromEnv(name: string, fallback: number): number {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < 1 || value > MAX_SIZE) {
		throw new Error(`${name} must be a whole number from 1 to ${MAX_SIZE}`);
	}
	return value;
}

const PoolsService: ServiceSchema<PoolsSettings, PoolsMethods, PoolsLocalVars> = {
	name: "pools",

	mixins: [createDbMixin<PoolStore>("pools", poolStores), SecretTokensMixin],

	settings: {
		prefix: "mtl",
		defaults: {
			size: positiveIntegerFromEnv("POOLS_DEFAULT_SIZE", 10),
			leaseTime: durationFromEnv(process.env, "POOLS_DEFAULT_LEASE", 60),
			tokenTtl: durationFromEnv(process.env, "POOLS_DEFAULT_TOKEN_TTL", 0) || null
		}
	},

	actions: {
		/** Sets a pool's size, lease time and token lifetime; they apply to later operations. */
		configure: {
			params: {
				$$strict: true,
				pool: POOL,
				size: { type: "number", integer: true, min: 1, max: MAX_SIZE },
				leaseTime: { type: "number", integer: true, min: 1, max: MAX_LEASE },
				tokenTtl: {
					type: "number",
					integer: true,
					positive: true,
					max: MAX_TOKEN_TTL,
					optional: true,
					nullable: true
				}
			},
			async handler(ctx: Context<ConfigureParams>): Promise<PoolSettings & { pool: string }> {
				const { pool, size, leaseTime } = ctx.params;
				const tokenTtl =
					ctx.params.tokenTtl === undefined
						? this.settings.defaults.tokenTtl
						: ctx.params.tokenTtl;
				const config: PoolConfigRecord = {
					_id: configId(pool),
					kind: "config",
					pool,
					size,
					leaseTime,
					tokenTtl,
					updatedAt: this.now()
				};
				await this.store.saveConfig(config);
				return { pool, size, leaseTime, tokenTtl };
			}
		},

		/** Adds a new token to the pool; 403 POOL_FULL when it already holds `size` tokens. */
		generate: {
			params: { $$strict: true, pool: POOL },
			retryPolicy: { enabled: false },
			async handler(
				ctx: Context<PoolParams>
			): Promise<{ token: string; expiresAt: string | null }> {
				const { pool } = ctx.params;
				const { size, tokenTtl } = await this.poolSettings(pool);
				const now = this.now();
				// Expired tokens give their slots back.
				await this.store.removeExpired(pool, now);
				for (let attempt = 0; attempt < GENERATE_ATTEMPTS; attempt++) {
					const used = new Set(await this.store.usedSlots(pool));
					const free: number[] = [];
					for (let slot = 0; slot < size && used.size + free.length < size; slot++) {
						if (!used.has(slot)) free.push(slot);
					}
					if (free.length === 0) {
						throw poolFull();
					}
					// A random free slot, so concurrent generates rarely pick the same one.
					const slot = free[randomInt(free.length)];
					const id = randomUUID();
					const token = createToken(this.settings.prefix);
					const record: PoolTokenRecord = {
						_id: id,
						kind: "token",
						pool,
						slot,
						slotKey: slotKeyOf(pool, slot),
						hash: this.hasher.hash(token),
						sealed: this.box.seal(token, `${pool}/${id}`),
						createdAt: now,
						expiresAt: tokenTtl === null ? null : now + tokenTtl * 1000,
						holder: null,
						leaseExpiresAt: null,
						assignedAt: null
					};
					if (await this.store.insertToken(record)) {
						ctx.emit<PoolEventPayload>("pools.generated", { pool, id });
						return {
							token,
							expiresAt:
								record.expiresAt === null
									? null
									: new Date(record.expiresAt).toISOString()
						};
					}
				}
				throw poolBusy();
			}
		},

		/**
		 * Leases a free token to `clientId` for the pool's lease time, least recently assigned
		 * first; 404 NO_TOKEN_AVAILABLE when none is free. Never retried: a lost answer would
		 * otherwise hold a second token.
		 */
		assign: {
			params: { $$strict: true, pool: POOL, clientId: CLIENT_ID },
			retryPolicy: { enabled: false },
			async handler(
				ctx: Context<AssignParams>
			): Promise<{ token: string; leaseExpiresAt: string }> {
				const { pool, clientId } = ctx.params;
				const { leaseTime } = await this.poolSettings(pool);
				// A token that no longer opens is removed and the next one tried.
				for (let attempt = 0; attempt < 3; attempt++) {
					const now = this.now();
					const leaseExpiresAt = now + leaseTime * 1000;
					const record = await this.store.assign(pool, {
						holder: clientId,
						now,
						leaseExpiresAt
					});
					if (!record) break;
					const token = this.unseal(record);
					if (token === null) {
						await this.store.removeToken(record._id);
						continue;
					}
					ctx.emit<PoolEventPayload>("pools.assigned", {
						pool,
						id: record._id,
						clientId
					});
					return {
						token,
						leaseExpiresAt: new Date(
							leaseEnd(now, leaseTime, record.expiresAt)
						).toISOString()
					};
				}
				throw noTokenAvailable();
			}
		},

		/** Renews the lease of the client holding the token; 403 NOT_HOLDER for anyone else. */
		keepAlive: {
			params: {
				$$strict: true,
				pool: POOL,
				token: TOKEN,
				clientId: { ...CLIENT_ID, optional: true }
			},
			async handler(
				ctx: Context<KeepAliveParams>
			): Promise<{ ok: true; leaseExpiresAt: string }> {
				const { pool, token, clientId } = ctx.params;
				const { leaseTime } = await this.poolSettings(pool);
				const now = this.now();
				const record = await this.findLiveToken(pool, token, now);
				if (!record) throw noSuchPoolToken();
				const renewed = await this.store.keepAlive(record._id, {
					holder: clientId,
					now,
					leaseExpiresAt: now + leaseTime * 1000
				});
				if (!renewed) {
					throw notHolder(true);
				}
				return {
					ok: true,
					leaseExpiresAt: new Date(
						leaseEnd(now, leaseTime, renewed.expiresAt)
					).toISOString()
				};
			}
		},

		/**
		 * Gives a leased token back to the pool; with `clientId`, only its holder may. 403
		 * NOT_ASSIGNED when nobody holds it.
		 */
		unblock: {
			params: {
				$$strict: true,
				pool: POOL,
				token: TOKEN,
				clientId: { ...CLIENT_ID, optional: true }
			},
			async handler(ctx: Context<UnblockParams>): Promise<{ ok: true }> {
				const { pool, token, clientId } = ctx.params;
				const now = this.now();
				const record = await this.findLiveToken(pool, token, now);
				if (!record) throw noSuchPoolToken();
				if (await this.store.release(record._id, now, clientId)) {
					ctx.emit<PoolEventPayload>("pools.released", {
						pool,
						id: record._id,
						clientId: record.holder ?? undefined
					});
					return { ok: true };
				}
				const current = await this.store.findToken(pool, [record.hash]);
				if (clientId !== undefined && current && isLeased(current, now)) {
					throw notHolder(false);
				}
				throw notAssigned();
			}
		},

		/** Removes a token from the pool for good, leased or not; 404 NOT_FOUND. */
		delete: {
			params: { $$strict: true, pool: POOL, token: TOKEN },
			retryPolicy: { enabled: false },
			async handler(ctx: Context<PoolTokenParams>): Promise<{ ok: true }> {
				const { pool, token } = ctx.params;
				const record = await this.findAnyToken(pool, token);
				if (!record || !(await this.store.removeToken(record._id))) throw noSuchPoolToken();
				ctx.emit<PoolEventPayload>("pools.deleted", { pool, id: record._id });
				return { ok: true };
			}
		},

		/** The pool's settings and how many of its live tokens are available or assigned. */
		stats: {
			params: { $$strict: true, pool: POOL },
			async handler(ctx: Context<PoolParams>): Promise<PoolStats> {
				const { pool } = ctx.params;
				const settings = await this.poolSettings(pool);
				const counts = await this.store.counts(pool, this.now());
				return { pool, ...settings, ...counts };
			}
		}
	},

	methods: {
		/** The service's clock (tests move it forward by replacing Date.now). */
		now(): number {
			return Date.now();
		},

		async poolSettings(this: PoolsThis, pool: string): Promise<PoolSettings> {
			const config = await this.store.getConfig(pool);
			if (!config) return { ...this.settings.defaults };
			return { size: config.size, leaseTime: config.leaseTime, tokenTtl: config.tokenTtl };
		},

		/** The pool's token, whether or not it expired; null when its shape alone rules it out. */
		async findAnyToken(
			this: PoolsThis,
			pool: string,
			token: string
		): Promise<PoolTokenRecord | null> {
			if (!isWellFormedToken(token, this.settings.prefix)) return null;
			return this.store.findToken(pool, this.hasher.candidates(token));
		},

		async findLiveToken(
			this: PoolsThis,
			pool: string,
			token: string,
			now: number
		): Promise<PoolTokenRecord | null> {
			const record = await this.findAnyToken(pool, token);
			return record && !isTokenExpired(record, now) ? record : null;
		},

		/** The token, or null (logged, without the value) when it no longer opens. */
		unseal(this: PoolsThis, record: PoolTokenRecord): string | null {
			try {
				return this.box.open(record.sealed, `${record.pool}/${record._id}`);
			} catch (err) {
				this.logger.error(
					`Pool '${record.pool}': token ${record._id} cannot be unsealed (${
						(err as Error).message
					}); it is removed. Was TOKEN_SALT changed without listing the old one in TOKEN_SALT_PREVIOUS?`
				);
				return null;
			}
		}
	},

	created(this: PoolsThis) {
		this.box = new SealedBox(this.salts.current, "pools", this.salts.previous);
	}
};

export default PoolsService;
