/**
 * The `links` service: one-time action links, bound to an action and its parameters and redeemed
 * through `/token/<token>`. A link is a token that, when redeemed,
 * calls one allow-listed action with parameters fixed when the link was created, e.g. "subscribe
 * this address to the newsletter" behind a double opt-in e-mail.
 *
 * - Tokens look like every other token of the project (lib/tokens/format, prefix "mta": the
 *   `action` type's prefix) and only their HMAC under TOKEN_SALT is stored (lib/tokens/hasher).
 * - Redeeming spends a one-time link atomically (exactly one winner among concurrent redeems) and
 *   locks a multi-use link for its lock timeout (exactly one winner per lock period).
 * - The action's endpoint is chosen before the link is spent: if nobody serves the action, nothing is
 *   spent (503). Once spent, the call is made exactly once (no retries) and a failure leaves the
 *   link spent, because nobody can tell in general whether the action did something before failing.
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type Service, type ServiceSchema } from "moleculer";
import createDbMixin, { type DbSettings, type StoreOwner } from "../mixins/db.mixin";
import * as linkStores from "../lib/links/store/link-adapters";
import CronMixin, {
	cleanupJob,
	cleanupParams,
	cleanupScheduleFromEnv,
	type CleanupSchedule
} from "../mixins/cron.mixin";
import { isAllowedAction, parseAllowList } from "../lib/links/action-allowlist";
import { durationFromEnv } from "../lib/config/durations";
import { listFromEnv, publicUrlFromEnv } from "../lib/config/env";
import { createToken, isWellFormedToken, TOKEN_PARAM } from "../lib/tokens/format";
import SecretTokensMixin, { type SecretTokensOwner } from "../mixins/secret-tokens.mixin";
import {
	isLinkExpired,
	isLinkLocked,
	type LinkRecord,
	type LinkStore
} from "../lib/links/store/link-store";
import { countCleanup } from "../lib/broker/project-metrics";
import { fieldError } from "../lib/broker/field-error";
import {
	actionNotAllowed,
	actionUnavailable,
	invalidOrExpiredLink,
	linkLocked
} from "../lib/links/link-errors";

export interface LinksSettings extends DbSettings {
	/** Full names of the actions links may call (LINKS_ALLOWED_ACTIONS, comma-separated). */
	allowedActions: string[];
	/** Prefix of link tokens. */
	prefix: string;
	/** Base of the URL returned by `create`: `${publicUrl}/token/<token>`. */
	publicUrl: string;
	/** Lifetime in seconds of a link created without `validUntil` or `expiry`. */
	defaultValidity: number;
	/** Seconds a link stays locked after each redeem, unless the link says otherwise. */
	lockTimeout: number;
	/** Largest accepted `params`, in bytes of JSON. */
	maxParamsBytes: number;
	cleanup: CleanupSchedule & { batchSize: number };
}

/** What callers see of a link: never its hash, and the token only once, from `create`. */
export interface LinkEntity {
	id: string;
	owner: string;
	action: string;
	params: Record<string, unknown>;
	validUntil: string;
	lastAccess: string | null;
	lockedUntil: string | null;
	multiUse: boolean;
	lockTimeout: number;
	uses: number;
	createdAt: string;
}

export interface CreatedLink extends LinkEntity {
	token: string;
	url: string;
}

export interface CreateLinkParams {
	owner: string;
	action: string;
	params?: Record<string, unknown>;
	validUntil?: string;
	expiry?: number;
	multiUse?: boolean;
	lockTimeout?: number;
}

export interface LinkTokenParams {
	token: string;
}

export interface RedeemResult<T = unknown> {
	action: string;
	result: T;
}

/** What the called action finds in `ctx.meta.link`. */
export interface LinkCallMeta {
	link: { id: string; owner: string };
}

/** Event payloads carry ids, owners and action names, never tokens or parameters. */
export interface LinkEventPayload {
	id: string;
	owner: string;
	action: string;
}

interface LinksMethods {
	now(): number;
	lookupHashes(token: string): string[] | null;
	findLive(token: string, now: number): Promise<LinkRecord | null>;
	refusal(record: LinkRecord | null, now: number): Errors.MoleculerError;
	validUntilFrom(params: CreateLinkParams, now: number): number;
	serializeParams(params: Record<string, unknown> | undefined): string;
}

interface LinksLocalVars extends StoreOwner<LinkStore>, SecretTokensOwner {
	allowList: string[];
}

type LinksThis = Service<LinksSettings> & LinksMethods & LinksLocalVars;

const DAY = 86400;
/** Upper bound on a link's lifetime and lock: ten years, as for tokens. */
const MAX_VALIDITY = 10 * 365 * DAY;
const OWNER = { type: "string", min: 1, max: 256 } as const;
/** Token strings are never echoed: a wrong shape is "not found", not a validation error. */
const TOKEN = TOKEN_PARAM;
/** ISO 8601 date-time with an explicit offset, e.g. 2030-01-31T12:00:00Z. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export function toLinkEntity(record: LinkRecord): LinkEntity {
	const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
	return {
		id: record._id,
		owner: record.owner,
		action: record.action,
		params: JSON.parse(record.params) as Record<string, unknown>,
		validUntil: new Date(record.validUntil).toISOString(),
		lastAccess: iso(record.lastAccess),
		lockedUntil: iso(record.lockedUntil),
		multiUse: record.multiUse,
		lockTimeout: record.lockTimeout,
		uses: record.uses,
		createdAt: new Date(record.createdAt).toISOString()
	};
}

function invalidParam(field: string, message: string): Errors.ValidationError {
	return fieldError(field, "custom", message, message);
}

const LinksService: ServiceSchema<LinksSettings, LinksMethods, LinksLocalVars> = {
	name: "links",

	mixins: [createDbMixin<LinkStore>("links", linkStores), CronMixin, SecretTokensMixin],

	settings: {
		allowedActions: listFromEnv(process.env, "LINKS_ALLOWED_ACTIONS"),
		prefix: "mta",
		publicUrl: publicUrlFromEnv(process.env),
		defaultValidity: durationFromEnv(process.env, "LINKS_DEFAULT_VALIDITY", 7 * DAY),
		lockTimeout: durationFromEnv(process.env, "LINKS_LOCK_TIMEOUT", 10),
		maxParamsBytes: 16 * 1024,
		cleanup: { ...cleanupScheduleFromEnv("LINKS", "15 0 * * *"), batchSize: 1000 }
	},

	crons: [
		cleanupJob<LinksThis>("removeExpired", async function (this: LinksThis) {
			await this.broker.call("links.removeExpired", {}, { nodeID: this.broker.nodeID });
		})
	],

	actions: {
		/**
		 * Creates a link to `action` with `params`. The only response that contains the token (and
		 * the URL carrying it). 403 ACTION_NOT_ALLOWED unless `action` is on the allow-list.
		 * Public: other services make links; the gateway never does.
		 */
		create: {
			visibility: "public",
			params: {
				$$strict: true,
				owner: OWNER,
				action: { type: "string", min: 3, max: 200 },
				params: { type: "object", optional: true },
				validUntil: {
					type: "string",
					max: 40,
					pattern: ISO_DATE_TIME,
					optional: true
				},
				expiry: {
					type: "number",
					integer: true,
					positive: true,
					max: MAX_VALIDITY,
					optional: true
				},
				multiUse: { type: "boolean", optional: true },
				lockTimeout: {
					type: "number",
					integer: true,
					min: 0,
					max: MAX_VALIDITY,
					optional: true
				}
			},
			retryPolicy: { enabled: false },
			async handler(ctx: Context<CreateLinkParams>): Promise<CreatedLink> {
				const { owner, action, multiUse, lockTimeout } = ctx.params;
				if (!isAllowedAction(this.allowList, action)) {
					throw actionNotAllowed(false);
				}
				const now = this.now();
				const token = createToken(this.settings.prefix);
				const record: LinkRecord = {
					_id: randomUUID(),
					hash: this.hasher.hash(token),
					owner,
					action,
					params: this.serializeParams(ctx.params.params),
					multiUse: multiUse ?? false,
					lockTimeout: lockTimeout ?? this.settings.lockTimeout,
					createdAt: now,
					validUntil: this.validUntilFrom(ctx.params, now),
					lastAccess: null,
					lockedUntil: null,
					uses: 0
				};
				await this.store.insert(record);
				ctx.emit<LinkEventPayload>("links.created", { id: record._id, owner, action });
				return {
					...toLinkEntity(record),
					token,
					url: `${this.settings.publicUrl}/token/${token}`
				};
			}
		},

		/**
		 * The link's stored action and parameters, without spending or locking it; null if dead.
		 * Published: the gateway's confirm page (GET /token/:token) shows it.
		 */
		load: {
			params: { $$strict: true, token: TOKEN },
			async handler(ctx: Context<LinkTokenParams>): Promise<LinkEntity | null> {
				const record = await this.findLive(ctx.params.token, this.now());
				return record ? toLinkEntity(record) : null;
			}
		},

		/** True while the link exists and has not expired (a locked link is still valid). */
		isValid: {
			visibility: "public",
			params: { $$strict: true, token: TOKEN },
			async handler(ctx: Context<LinkTokenParams>): Promise<boolean> {
				return (await this.findLive(ctx.params.token, this.now())) !== null;
			}
		},

		/** Removes the link (expired or not); true when there was one to remove. */
		invalidate: {
			visibility: "public",
			params: { $$strict: true, token: TOKEN },
			async handler(ctx: Context<LinkTokenParams>): Promise<boolean> {
				const hashes = this.lookupHashes(ctx.params.token);
				if (!hashes) return false;
				const record = await this.store.removeByHashes(hashes);
				if (!record) return false;
				ctx.emit<LinkEventPayload & { reason: string }>("links.removed", {
					id: record._id,
					owner: record.owner,
					action: record.action,
					reason: "invalidated"
				});
				return true;
			}
		},

		/**
		 * Spends (one-time) or locks (multi-use) the link in one atomic step, then calls its action
		 * once with its parameters and `meta.link = { id, owner }`, and returns the action's result.
		 * Never retried: the first attempt may have spent the link even if its answer was lost.
		 * Published: the gateway's POST /token/:token calls it.
		 */
		redeem: {
			params: { $$strict: true, token: TOKEN },
			retryPolicy: { enabled: false },
			async handler(ctx: Context<LinkTokenParams>): Promise<RedeemResult> {
				const now = this.now();
				const record = await this.findLive(ctx.params.token, now);
				if (!record || isLinkLocked(record, now)) throw this.refusal(record, now);
				// The allow-list may have shrunk since the link was made: such links stay unspent.
				if (!isAllowedAction(this.allowList, record.action)) {
					throw actionNotAllowed(true);
				}
				// Pick the endpoint first: if nobody serves the action, nothing is spent.
				const endpoint = this.broker.findNextActionEndpoint(record.action, {}, ctx);
				if (endpoint instanceof Error) {
					throw actionUnavailable(record.action);
				}

				const won = record.multiUse
					? await this.store.claim(record._id, now, now + record.lockTimeout * 1000)
					: (await this.store.spend(record._id, now))
						? record
						: null;
				if (!won) {
					// Another redeem got there first: tell the caller what that left.
					throw this.refusal(await this.store.findByHashes([record.hash]), now);
				}
				const event = { id: record._id, owner: record.owner, action: record.action };
				ctx.emit<LinkEventPayload>("links.redeemed", event);

				try {
					const result = await ctx.call<unknown, Record<string, unknown>>(
						record.action,
						JSON.parse(record.params) as Record<string, unknown>,
						{
							nodeID: endpoint.id,
							// Exactly once: a retried call could run the action twice.
							retries: 0,
							meta: { link: { id: record._id, owner: record.owner } }
						}
					);
					return { action: record.action, result };
				} catch (err) {
					const e = err as Errors.MoleculerError;
					this.logger.warn(
						`Link ${record._id}: '${record.action}' failed after the link was ${
							record.multiUse ? "locked" : "spent"
						} (${e.code ?? "?"} ${e.type ?? e.name}).`
					);
					ctx.emit("links.failed", {
						...event,
						code: e.code ?? null,
						type: e.type ?? null
					});
					throw err;
				}
			}
		},

		/**
		 * Removes expired links in batches; called by the nightly job. Public (callable from other
		 * nodes, e.g. an operator's REPL) but never published through the gateway.
		 */
		removeExpired: {
			visibility: "public",
			params: cleanupParams,
			async handler(ctx: Context<{ batchSize?: number }>): Promise<{ removed: number }> {
				const batchSize = ctx.params.batchSize ?? this.settings.cleanup.batchSize;
				const startedAt = this.now();
				let removed = 0;
				for (;;) {
					const batch = await this.store.removeExpired(startedAt, batchSize);
					removed += batch;
					if (batch < batchSize) break;
					// Let redeems waiting behind this batch run before the next one.
					await new Promise(resolve => setImmediate(resolve));
				}
				if (removed > 0) this.logger.info(`Removed ${removed} expired link(s).`);
				countCleanup(this.broker, "links", removed, this.now() - startedAt);
				return { removed };
			}
		}
	},

	events: {
		/** A deleted account's links go with it (links made for a user name the user as owner). */
		async "auth.userDeleted"(this: LinksThis, ctx: Context<{ userId: string }>) {
			const removed = await this.store.removeByOwner(ctx.params.userId);
			if (removed > 0) this.logger.info(`Removed ${removed} link(s) of a deleted account.`);
		}
	},

	methods: {
		/** The service's clock (tests move it forward by replacing Date.now). */
		now(): number {
			return Date.now();
		},

		/** Hashes the token may be stored under, or null when its shape alone shows it cannot exist. */
		lookupHashes(this: LinksThis, token: string): string[] | null {
			if (!isWellFormedToken(token, this.settings.prefix)) return null;
			return this.hasher.candidates(token);
		},

		async findLive(this: LinksThis, token: string, now: number): Promise<LinkRecord | null> {
			const hashes = this.lookupHashes(token);
			if (!hashes) return null;
			const record = await this.store.findByHashes(hashes);
			return record && !isLinkExpired(record, now) ? record : null;
		},

		/** Why a link cannot be redeemed now: absent or expired (404), or locked (423). */
		refusal(this: LinksThis, record: LinkRecord | null, now: number): Errors.MoleculerError {
			if (record && !isLinkExpired(record, now) && isLinkLocked(record, now)) {
				return linkLocked(record.lockedUntil!, now);
			}
			return invalidOrExpiredLink();
		},

		validUntilFrom(this: LinksThis, params: CreateLinkParams, now: number): number {
			if (params.validUntil !== undefined && params.expiry !== undefined) {
				throw invalidParam("validUntil", "Give either 'validUntil' or 'expiry', not both.");
			}
			if (params.validUntil === undefined) {
				return now + (params.expiry ?? this.settings.defaultValidity) * 1000;
			}
			const at = Date.parse(params.validUntil);
			if (Number.isNaN(at)) {
				throw invalidParam("validUntil", "The 'validUntil' field is not a valid date.");
			}
			if (at <= now) {
				throw invalidParam("validUntil", "The 'validUntil' field must be in the future.");
			}
			if (at > now + MAX_VALIDITY * 1000) {
				throw invalidParam("validUntil", "The 'validUntil' field is too far away.");
			}
			return at;
		},

		/** Parameters as JSON text (see LinkRecord.params); refused when too big or not JSON. */
		serializeParams(this: LinksThis, params: Record<string, unknown> | undefined): string {
			let json: string;
			try {
				json = JSON.stringify(params ?? {});
			} catch {
				throw invalidParam("params", "The 'params' field must be plain JSON data.");
			}
			if (Buffer.byteLength(json, "utf8") > this.settings.maxParamsBytes) {
				throw invalidParam(
					"params",
					`The 'params' field must be at most ${this.settings.maxParamsBytes} bytes of JSON.`
				);
			}
			return json;
		}
	},

	created(this: LinksThis) {
		this.allowList = parseAllowList(this.settings.allowedActions, "links allowedActions");
		if (this.allowList.length === 0) {
			this.logger.warn(
				"No action is allowed for links (LINKS_ALLOWED_ACTIONS is empty): links.create refuses every action."
			);
		}
	}
};

export default LinksService;
