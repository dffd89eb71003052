/**
 * The `tokens` service's own types: its settings, and `this` as its handlers and the mixins it is
 * made of (services/tokens/*) see it. Here, not in tokens.service.ts, so the mixins import no file
 * that imports them.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import { typedMixin, type MixinOf } from "../../lib/broker/typed-mixin";
import type { DbSettings, StoreOwner } from "../../mixins/db.mixin";
import type { CleanupSchedule } from "../../mixins/cron.mixin";
import type { SecretTokensOwner } from "../../mixins/secret-tokens.mixin";
import type { TouchBuffer } from "../../lib/tokens/touch-buffer";
import type { FailureLimit } from "../../lib/tokens/lookup-failures/failure-limiter";
import type { LookupFailures } from "../../lib/tokens/lookup-failures/failure-limits";
import type { TokenRecord, TokenStore } from "../../lib/tokens/store/token-store";
import type { ClientMeta } from "../../lib/tokens/token-types";

export interface TokenTypeSettings {
	/** Prefix of the token string, e.g. "mtk" gives "mtk_…". */
	prefix: string;
	/** Default lifetime in seconds; null: the token never expires unless `expiry` is given. */
	ttl: number | null;
	/**
	 * A code type (lib/tokens/codes): `generateCode` mints this many digits, looked up only with
	 * their scope, and `generate` refuses the type. Its prefix then names it, in settings only.
	 */
	codeDigits?: number;
}

export interface TokensSettings extends DbSettings {
	types: Record<string, TokenTypeSettings>;
	/** "last used" is written at most once per this many seconds per token. */
	touchInterval: number;
	cleanup: CleanupSchedule & { batchSize: number };
	/**
	 * Failed `check`s and `consume`s allowed per end client (`meta.ip`, which the gateway sets and
	 * moleculer passes on through `auth`), or per calling node when a caller names no client: a node
	 * answers for many clients, so its budget is larger (TOKENS_NODE_FAILURE_BURST and
	 * TOKENS_NODE_FAILURES_PER_SECOND). Beyond it: 429 TOO_MANY_FAILURES.
	 */
	failureLimit: { perClient: FailureLimit; perNode: FailureLimit };
}

export type LookupResult = "valid" | "not_found" | "wrong_owner" | "expired" | "malformed";

export interface TokensMethods {
	lookup(
		type: string,
		token: string,
		owner: string | undefined,
		now: number
	): Promise<{ result: LookupResult; record: TokenRecord | null }>;
	typeOf(type: string): TokenTypeSettings;
	matchFor(
		type: string,
		token: string,
		owner?: string
	): { hashes: string[]; type: string; owner?: string } | null;
	recordUse(record: TokenRecord, now: number): void;
	storeNew(ctx: Context, operation: string, token: NewToken): Promise<TokenRecord>;
	countFailure(
		ctx: Context<unknown, ClientMeta>,
		operation?: string,
		type?: string,
		result?: string
	): Promise<null>;
	emitRemoved(ctx: Context, records: TokenRecord[], reason: string): void;
	announceChanged(records: TokenRecord[]): void;
	removeExpiredTokens(batchSize: number): Promise<number>;
}

export interface TokensLocalVars extends StoreOwner<TokenStore>, SecretTokensOwner {
	touches: TouchBuffer;
	/** Chosen at the first failure, once the store is known (see lib/tokens/lookup-failures/failure-limits). */
	failures?: LookupFailures;
}

export type TokensThis = Service<TokensSettings> & TokensMethods & TokensLocalVars;

/** A token to store: its record without id and dates, and its lifetime. */
export type NewToken = Pick<TokenRecord, "type" | "owner" | "hash"> &
	Partial<Pick<TokenRecord, "name" | "scopes" | "data">> & {
		/** Seconds to live; null: never expires. */
		ttl: number | null;
	};

/** A mixin of this service, checked against TokensMethods (lib/broker/typed-mixin). */
export function tokensMixin(
	mixin: MixinOf<TokensSettings, TokensMethods, TokensLocalVars>
): Partial<ServiceSchema> {
	return typedMixin<TokensSettings, TokensMethods, TokensLocalVars>(mixin);
}
