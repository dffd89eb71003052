/** What callers of `tokens` send and get back: entities, parameters, event payloads. */
import { isoDate } from "../common/iso-date";
import type { TokenRecord } from "./store/token-store";

/** What callers see of a token: never its hash, and the plaintext only once, from `generate`. */
export interface TokenEntity {
	id: string;
	type: string;
	owner: string;
	name: string | null;
	scopes: string[];
	data: Record<string, unknown> | null;
	createdAt: string;
	expiresAt: string | null;
	lastUsedAt: string | null;
}

export interface GenerateParams {
	type: string;
	expiry?: number;
	owner: string;
	name?: string;
	scopes?: string[];
	data?: Record<string, unknown>;
}
export interface CheckParams {
	type: string;
	token: string;
	owner?: string;
	isUsed?: boolean;
}
export interface RemoveParams {
	type: string;
	token: string;
}
export interface ConsumeParams {
	type: string;
	token: string;
	owner?: string;
	/** The caller knows the token was issued: a miss is a lost race, not a guess. */
	raced?: boolean;
}
export interface GenerateCodeParams {
	type: string;
	owner: string;
	scope: string;
	expiry?: number;
	data?: Record<string, unknown>;
}
export interface ConsumeCodeParams {
	type: string;
	scope: string;
	code: string;
	owner?: string;
}
export interface OwnerParams {
	owner: string;
	type?: string;
}
export interface RevokeParams {
	id: string;
	owner: string;
}

/** Set by the gateway (and passed on by moleculer through `auth`): the end client's address. */
export interface ClientMeta {
	ip?: string;
}

/** Event payloads carry ids and owners, never tokens. */
export interface TokenEventPayload {
	id: string;
	type: string;
	owner: string;
}

/** A stored record as callers see it. */
/** One event for a bulk removal; owner and type are null when the removed tokens differ in them. */
export interface RemovedManyPayload {
	owner: string | null;
	type: string | null;
	count: number;
	reason: string;
}

export function toEntity(record: TokenRecord): TokenEntity {
	return {
		id: record._id,
		type: record.type,
		owner: record.owner,
		name: record.name,
		scopes: record.scopes,
		data: record.data,
		createdAt: isoDate(record.createdAt),
		expiresAt: record.expiresAt === null ? null : isoDate(record.expiresAt),
		lastUsedAt: record.lastUsedAt === null ? null : isoDate(record.lastUsedAt)
	};
}

/**
 * The token types other services of this project mint through `tokens`. Types are a setting of
 * `tokens` (settings.types); these names must be among them.
 */
export const TOKEN_TYPES = Object.freeze({
	verification: "verification",
	magicLink: "passwordless",
	passwordReset: "password-reset",
	refresh: "refresh",
	apiKey: "api-key",
	emailCode: "email-code",
	device: "device",
	challenge: "challenge",
	/** A WebAuthn challenge (services/auth/sign-in/passkeys.mixin): single use, 5 minutes. */
	passkeyChallenge: "passkey-challenge"
} as const);
