/**
 * The `auth` service's own types: its settings, its actions' parameters, and `this` as its
 * handlers and the mixins it is made of (services/auth/*.mixin.ts) see it.
 */

import { type Context, type Service, type ServiceSchema } from "moleculer";
import { typedMixin, type MixinOf } from "../../lib/broker/typed-mixin";
import { type DbSettings, type StoreOwner } from "../../mixins/db.mixin";
import { type CleanupSchedule } from "../../mixins/cron.mixin";
import type { AttemptCounter } from "../../lib/auth/sign-in-attempts/attempt-limiter";
import { HashGate } from "../../lib/auth/hash-gate";
import type { RefreshRotation } from "../../lib/auth/sessions/refresh-rotation";
import { AccessTokens } from "../../lib/auth/jwt";
import { type ScryptParams } from "../../lib/auth/password";
import { type UserRecord, type UserStore } from "../../lib/auth/store/user-store";
import {
	type RefreshFamilyRecord,
	type RefreshFamilyStore
} from "../../lib/auth/store/refresh-family-store";
import { type LinkKind } from "../../lib/auth/mail-links";
import type {
	AuthMeta,
	AuthUser,
	PublicUser,
	SessionTokens,
	SignInResult
} from "../../lib/auth/auth-types";
import type { SealedBox } from "../../lib/common/sealed-box";
import type { AttemptLimits } from "../../lib/auth/sign-in-attempts/attempt-limits";
import type { CodeKind } from "../../lib/auth/code-mails";
import type { Introspection, SignInAnswer } from "../../lib/auth/auth-types";
import type { KeyRing } from "../../lib/auth/key-ring";
import type { TokenEntity } from "../../lib/tokens/token-types";
import type { JwtAlgorithm } from "../../lib/auth/signing-keys";
import type { SigningKeyStore } from "../../lib/auth/store/signing-key-store";
import type { SharedKeyUsageStore } from "../../lib/auth/api-key-usage/key-usage-store";
import type { KeyUsageStore } from "../../lib/auth/api-key-usage/key-usage-store";
import type { PasskeyRecord, PasskeyStore } from "../../lib/auth/store/passkey-store";
import type { RelyingParty } from "../../lib/auth/passkeys/relying-party";
import type { AuthenticationResponseJSON } from "../../lib/auth/passkeys/ceremonies";
import type { CachedSession, CallerCache, CallerChange } from "../../lib/auth/caller-cache";
import type { TouchBuffer } from "../../lib/tokens/touch-buffer";
import type { CreditSettings, RateLimit } from "../../lib/auth/api-key-usage/key-limits";
import type { KeyLimitResult } from "../../lib/auth/api-key-usage/key-limits";
import type { MailQueueConfig } from "../../lib/config/env";
import type { MailQueue } from "../../lib/mail/mail-queue";
import type { NoticeKind } from "../../lib/auth/notice-mails";
import type { MailContent } from "../../lib/mail/queued-mail";

export type { LimitSettings } from "../../lib/auth/sign-in-attempts/attempt-limits";

export interface AuthSettings extends DbSettings {
	/** Base of the links in mails, e.g. https://example.com. */
	publicUrl: string;
	/** Mails go through this JetStream queue when its url is set, else straight to mail.send. */
	mailQueue: MailQueueConfig;
	accessToken: {
		issuer: string;
		audience: string;
		/** Seconds. */
		ttl: number;
		/** What new access tokens are signed with (JWT_ALGORITHM): EdDSA, ES256 or HS256. */
		algorithm: JwtAlgorithm;
	};
	/** Seconds a new key waits in the JWKS before it signs; seconds between reloads of the keys. */
	signingKeys: { publishDelay: number; reloadInterval: number };
	/** Seconds a refresh token lives (each rotation issues a new one with this lifetime). */
	refreshTokenTtl: number;
	/** Fingerprints of rotated refresh tokens remembered per family, to recognise their reuse. */
	refreshHistory: number;
	/** Seconds during which the live token's parent gets the same successor (0: off). */
	refreshReuseInterval: number;
	/** Seconds the hot paths may answer from memory (AUTH_CACHE_TTL; 0: always read). */
	callerCacheTtl: number;
	/** Live sessions per user (AUTH_MAX_SESSIONS); the oldest ends first (0: no limit). */
	maxSessions: number;
	/** The passkeys' WebAuthn relying party; unset: WEBAUTHN_RP_ID, _RP_NAME, _ORIGINS and publicUrl. */
	webauthn?: RelyingParty;
	/** Seconds a sign-in counts as recent, for adding a second factor (AUTH_RECENT_SIGN_IN). */
	recentSignIn: number;
	/**
	 * A password reset by mail removes a second factor enrolled less than this many seconds ago
	 * (AUTH_RESET_REMOVES_FACTORS_WITHIN): the mailbox's owner takes back an account on which
	 * someone else just enrolled a factor. 0: a reset never removes one.
	 */
	resetRemovesFactorsWithin: number;
	/** scrypt cost for new hashes; older hashes are upgraded at the next sign-in. */
	password: ScryptParams;
	/** Password sign-in only after the e-mail address was confirmed. */
	requireVerifiedEmail: boolean;
	/** A password sign-in from a device not seen before needs a mailed code (AUTH_VERIFY_NEW_DEVICES). */
	verifyNewDevices: boolean;
	/** Scopes a new user gets (what their API keys may carry). */
	defaultScopes: string[];
	/** Most API keys one user may hold. */
	maxApiKeys: number;
	/** Seconds an account whose address was never confirmed lives; then it frees its names. */
	unconfirmedAccountTtl: number;
	/** Password hashes running at once and waiting (lib/auth/hash-gate); beyond them 503. */
	hashing: { concurrency: number; queue: number };
	limits: AttemptLimits;
	/** Seconds an e-mailed code lives. */
	codeTtl: number;
	/** The issuer authenticator apps show beside a TOTP account (TOTP_ISSUER). */
	totpIssuer: string;
	cleanup: CleanupSchedule;
}

export interface SignUpParams {
	username: string;
	email: string;
	password: string;
}
export interface TokenParams {
	token: string;
}
export interface VerifyEmailParams {
	token: string;
	password?: string;
}
export interface EmailParams {
	email: string;
}
export interface EmailCodeParams {
	email: string;
	code: string;
	password?: string;
}
export interface SignInParams {
	login: string;
	password: string;
	deviceToken?: string;
}
export interface ResetPasswordParams {
	token: string;
	password: string;
	confirmPassword: string;
	keepApiKeys?: boolean;
}
export interface SignOutEverywhereParams {
	includeApiKeys?: boolean;
}
export interface ChangePasswordParams {
	currentPassword: string;
	newPassword: string;
}
export interface RefreshParams {
	refreshToken: string;
}
export interface ApiKeyParams {
	key: string;
}
export interface CreateApiKeyParams {
	name: string;
	expiry?: number;
	scopes?: string[];
	metadata?: Record<string, unknown>;
	rateLimits?: RateLimit[];
	credits?: CreditSettings;
}
export interface IdParams {
	id: string;
}
export interface SetScopesParams {
	userId: string;
	scopes: string[];
}

/**
 * Whom a session's access tokens are for: a user, or a service-API subject (no record here; the
 * scopes its session was issued with).
 */
export type SessionHolder =
	UserRecord | { _id: string; tokensValidAfter: number; grantedScopes: string[] };

export interface IssueTokensParams {
	subject: string;
	scopes?: string[];
}
export interface ValidateTokenParams {
	token: string;
	subject?: string;
}
export interface SubjectParams {
	subject: string;
}

/** Who an admin action is recorded as: "admin-token", "system" or the admin's user id. */
export interface AdminActor {
	id: string;
	/** The administrator's account, when a user is acting. */
	userId: string | null;
}

export interface AuthMethods {
	toPublicUser(user: UserRecord): PublicUser;
	toAuthUser(
		user: UserRecord,
		scopes: string[],
		via: AuthUser["via"],
		session?: string
	): AuthUser;
	requireCaller(ctx: AuthContext): AuthUser;
	requireCallerRecord(ctx: AuthContext): Promise<UserRecord>;
	findByLogin(login: string): Promise<UserRecord | null>;
	checkAddress(ctx: AuthContext): Promise<void>;
	recordAddressFailure(ctx: AuthContext): Promise<void>;
	limitMail(email: string): Promise<void>;
	useSharedLimitersOnPostgres(): void;
	consumeLinkToken(ctx: AuthContext, type: string, token: string): Promise<UserRecord>;
	proveAddress(ctx: Context, user: UserRecord, passwordShown: boolean): Promise<UserRecord>;
	checkSignUpPassword(ctx: AuthContext, owner: UserRecord, password: string): Promise<UserRecord>;
	mailCode(ctx: Context, user: UserRecord, kind: CodeKind): Promise<void>;
	newCode(ctx: Context, user: UserRecord): Promise<string>;
	completeSignIn(
		ctx: AuthContext,
		user: UserRecord,
		method: string,
		deviceToken?: string
	): Promise<SignInAnswer>;
	knownDevice(ctx: AuthContext, user: UserRecord, deviceToken?: string): Promise<boolean>;
	issueChallenge(
		ctx: AuthContext,
		user: UserRecord,
		purpose: "device" | "totp",
		method: string
	): Promise<string>;
	openChallenge(
		ctx: AuthContext,
		challenge: string,
		purpose: "device" | "totp"
	): Promise<{ id: string; user: UserRecord; data: { agent: string; method: string } }>;
	closeChallenge(ctx: Context, challenge: string, user: UserRecord): Promise<void>;
	acceptTotpCode(ctx: AuthContext, user: UserRecord, code: string): Promise<void>;
	acceptRecoveryCode(ctx: AuthContext, user: UserRecord, recoveryCode: string): Promise<void>;
	totpSecretOf(user: UserRecord): Buffer;
	startKeyRing(): Promise<void>;
	ownApiKey(ctx: AuthContext, owner: string, id: string): Promise<TokenEntity>;
	apiKeysOf(ctx: AuthContext, owner: string): Promise<TokenEntity[]>;
	requireTotpSession(caller: AuthUser, user: UserRecord): Promise<void>;
	requireRecentSignIn(
		ctx: AuthContext,
		caller: AuthUser,
		user: UserRecord,
		password?: string
	): Promise<void>;
	endOtherSessions(ctx: Context, caller: AuthUser, reason: string): Promise<void>;
	removeNewFactors(ctx: Context, user: UserRecord): Promise<void>;
	noticeMailLater(ctx: Context, user: UserRecord, kind: NoticeKind): void;
	keepWithinKeyCap(
		ctx: AuthContext,
		owner: string,
		keyId: string,
		dying?: string | null
	): Promise<void>;
	introspectAccessToken(token: string): Promise<Introspection>;
	introspectRefreshToken(ctx: AuthContext, token: string): Promise<Introspection>;
	introspectApiKey(ctx: AuthContext, token: string): Promise<Introspection>;
	openSigningKeyStore(): Promise<SigningKeyStore>;
	startKeyUsage(): Promise<void>;
	applyKeyLimits(key: TokenEntity): Promise<KeyLimitResult>;
	setKeyCredits(keyId: string, credits: CreditSettings): Promise<void>;
	openKeyUsageStore(): Promise<KeyUsageStore>;
	leasing(store: SharedKeyUsageStore): KeyUsageStore;
	spendEmailCode(ctx: AuthContext, email: string, code: string): Promise<UserRecord>;
	passwordMatches(password: string, hash: string | null): Promise<boolean>;
	newPasswordHash(password: string): Promise<string>;
	requireSession(ctx: AuthContext, what: string): AuthUser;
	accountLimitKey(user: UserRecord): string;
	removeAccount(ctx: Context | null, user: UserRecord, reason: string): Promise<void>;
	removeExpiredUnconfirmed(): Promise<number>;
	reportUnparsableAddresses(): Promise<void>;
	startSession(ctx: Context, user: UserRecord, method: string): Promise<SignInResult>;
	rotate(ctx: AuthContext, refreshToken: string): Promise<SessionTokens>;
	newRefreshRotation(): RefreshRotation<SessionHolder>;
	revokeFamily(ctx: Context, family: RefreshFamilyRecord, reason: string): Promise<boolean>;
	sessionTokens(
		holder: SessionHolder,
		refreshToken: string,
		session: string
	): Promise<SessionTokens>;
	openFamily(
		ctx: Context,
		holder: string,
		scopes: string[] | null
	): Promise<{ family: string; refreshToken: string }>;
	holderOf(family: RefreshFamilyRecord): Promise<SessionHolder | null>;
	endOldestSessions(ctx: Context, userId: string): Promise<void>;
	revokeAllSessions(ctx: Context, userId: string, reason: string): Promise<number>;
	setPassword(
		ctx: Context,
		user: UserRecord,
		password: string,
		reason: "reset" | "change"
	): Promise<void>;
	upgradeHashLater(user: UserRecord, password: string): void;
	sendLinkLater(ctx: Context, user: UserRecord, kind: LinkKind): void;
	sendLink(ctx: Context, user: UserRecord, kind: LinkKind): Promise<void>;
	later(label: string, task: () => Promise<unknown>): void;
	handOverMail(ctx: Context, mail: MailContent): Promise<void>;
	openFamilyStore(): Promise<RefreshFamilyStore>;
	newPasskeyChallenge(
		ctx: AuthContext,
		owner: string,
		purpose: "register" | "sign-in" | "second-step"
	): Promise<string>;
	answeredChallenge(
		ctx: AuthContext,
		response: { response?: { clientDataJSON?: unknown } },
		purpose: "register" | "sign-in" | "second-step"
	): Promise<{ token: string; owner: string } | null>;
	passkeyOwner(passkey: PasskeyRecord, response: AuthenticationResponseJSON): Promise<UserRecord>;
	passkeyFailure(operation: string, reason?: string): Error;
	usePasskey(
		ctx: AuthContext,
		response: AuthenticationResponseJSON,
		purpose: "sign-in" | "second-step",
		userId?: string
	): Promise<{ user: UserRecord; userVerified: boolean }>;
	passkeyCloned(ctx: AuthContext, user: UserRecord, passkey: PasskeyRecord): Promise<never>;
	secondStepMethods(user: UserRecord): Promise<string[]>;
	madeUpPasskey(login: string): PasskeyRecord;
	requirePasskeys(): void;
	openPasskeyStore(): Promise<PasskeyStore>;
	callersChanged(change: CallerChange): void;
	forgetCallers(change: CallerChange): void;
	cachedUser(id: string): UserRecord | Promise<UserRecord | null>;
	cachedSession(id: string): CachedSession | Promise<CachedSession | null>;
	checkedApiKey(ctx: Context, key: string): Promise<TokenEntity | null>;
	requireAdmin(ctx: AuthContext, dangerous: boolean): Promise<AdminActor>;
	hasSecondFactor(user: UserRecord): Promise<boolean>;
	adminAndTarget(
		ctx: AuthContext<{ id: string }>,
		dangerous: boolean
	): Promise<{ actor: AdminActor; user: UserRecord }>;
	recordAdminAction(
		ctx: AuthContext,
		actor: AdminActor,
		action: string,
		subject: string | null,
		data?: Record<string, string | number | boolean | null>
	): Promise<void>;
	clearAttemptBudgets(user: UserRecord): Promise<void>;
	refuseLocked(user: UserRecord): void;
}

export interface AuthLocalVars extends StoreOwner<UserStore> {
	families: RefreshFamilyStore;
	/** Refresh-token rotation over `families` (lib/auth/sessions/refresh-rotation). */
	rotation: RefreshRotation<SessionHolder>;
	passkeys: PasskeyStore;
	/** HMAC key of the WebAuthn user handles (from JWT_SECRET). */
	passkeyHandleKey: Buffer;
	relyingParty: RelyingParty;
	relyingPartyChecked: boolean;
	/** False when production derived an unusable relying party from PUBLIC_URL. */
	passkeysOn: boolean;
	/** What the gateway's hot paths read, kept AUTH_CACHE_TTL at most (services/auth/sessions/caller-cache.mixin). */
	callers: CallerCache<UserRecord, TokenEntity>;
	/** Uses of API keys answered from `callers`, recorded in batches through tokens.markUsed. */
	keyUses: TouchBuffer;
	keyUsage: KeyUsageStore;
	accessTokens: AccessTokens;
	/** Seals each new refresh token for the reuse interval (key from JWT_SECRET, purpose label). */
	successorBox: SealedBox;
	/** Seals TOTP secrets (key from JWT_SECRET, bound to the user id). */
	totpBox: SealedBox;
	/** Seals the signing keys' private halves (key from JWT_SECRET). */
	signingKeyBox: SealedBox;
	/** The signing keys (EdDSA, ES256); undefined with HS256. */
	keyRing?: KeyRing;
	/** HMAC key of the recovery codes (from JWT_SECRET). */
	recoveryKey: Buffer;
	/** Verified against when an account does not exist, so that costs as much as a wrong password. */
	dummyHash: string;
	limiters: Record<keyof AuthSettings["limits"], AttemptCounter>;
	hashGate: HashGate;
	/** Mails and re-hashes running after their action answered; awaited when the service stops. */
	pending: Set<Promise<void>>;
	pruneTimer: NodeJS.Timeout | null;
	/** The JetStream mail queue when MAIL_QUEUE_URL is set (services/auth/accounts/mail-handover.mixin). */
	mailQueue: MailQueue | null;
	successorTimer: NodeJS.Timeout | null;
}

export type AuthThis = Service<AuthSettings> & AuthMethods & AuthLocalVars;
export type AuthContext<P = unknown> = Context<P, AuthMeta>;

/** A mixin of `auth`, checked against AuthMethods (lib/broker/typed-mixin). */
export type AuthMixin = MixinOf<AuthSettings, AuthMethods, AuthLocalVars>;

export function authMixin(mixin: AuthMixin): Partial<ServiceSchema> {
	return typedMixin(mixin);
}
