/**
 * The `auth` service: accounts, sign-in, sessions and API keys, on top of the `tokens` service.
 *
 * Every token (e-mail verification, magic link, password reset, refresh, API key) is a `tokens`
 * token, reached only through the broker, so `auth` and `tokens` may run on different nodes. Access
 * tokens are short-lived JWTs (lib/auth/jwt). Passwords are scrypt hashes (lib/auth/password) and never leave
 * this service: not in answers, logs, events or errors.
 *
 * Refresh tokens rotate on every use; a rotated token presented again revokes its whole family
 * (RFC 9700 §4.14.2), see lib/auth/store/refresh-family-store and the README.
 */
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Errors, type Context, type Service, type ServiceSchema } from "moleculer";
import type Datastore from "@seald-io/nedb";
import createDbMixin, {
	embeddedAdapter,
	restrictDataFile,
	type DbSettings,
	type StoreOwner
} from "../mixins/db.mixin";
import CronMixin, {
	cleanupJob,
	cleanupScheduleFromEnv,
	type CleanupSchedule
} from "../mixins/cron.mixin";
import { AttemptLimiter } from "../lib/auth/attempt-limiter";
import { clientKey } from "../lib/http/client-address";
import { HashGate, HashGateFullError } from "../lib/auth/hash-gate";
import { parseMailbox } from "../lib/common/mailbox";
import { durationFromEnv } from "../lib/config/durations";
import { isoDate } from "../lib/common/iso-date";
import { AccessTokens } from "../lib/auth/jwt";
import {
	createDummyHash,
	hashPassword,
	needsRehash,
	scryptParamsFromEnv,
	verifyPassword,
	type ScryptParams
} from "../lib/auth/password";
import { dataDirFromEnv, listFromEnv, resolveSecret } from "../lib/config/secrets";
import { rollBackFailedWrites } from "../lib/store/nedb/write-rollback";
import { MongoUserStore } from "../lib/auth/store/mongo-user-store";
import { NedbUserStore } from "../lib/auth/store/nedb-user-store";
import {
	DuplicateUserError,
	emailKeyOf,
	usernameKeyOf,
	type UserRecord,
	type UserStore
} from "../lib/auth/store/user-store";
import {
	fingerprintOf,
	type RefreshFamilyRecord,
	type RefreshFamilyStore
} from "../lib/auth/store/refresh-family-store";
import { NedbRefreshFamilyStore } from "../lib/auth/store/nedb-refresh-family-store";
import {
	MongoRefreshFamilyStore,
	type FamilyCollection
} from "../lib/auth/store/mongo-refresh-family-store";
import type { TokenEntity } from "./tokens.service";

// ---------------------------------------------------------------------------------------------
// Contract types

/** The signed-in caller, as the gateway (or a calling service) puts it in `ctx.meta.user`. */
export interface AuthUser {
	id: string;
	username: string;
	scopes: string[];
	via: "jwt" | "api-key";
}

export interface AuthMeta {
	user?: AuthUser;
	/** The client's address, when the gateway knows it: failed attempts are also limited per address. */
	ip?: string;
}

/** What callers see of a user: never the password hash. */
export interface PublicUser {
	id: string;
	username: string;
	email: string;
	emailVerified: boolean;
	createdAt: string;
	updatedAt: string;
}

export interface SessionTokens {
	accessToken: string;
	refreshToken: string;
	tokenType: "Bearer";
	/** Seconds until the access token expires. */
	expiresIn: number;
}

export interface SignInResult extends SessionTokens {
	user: PublicUser;
}

export interface ResolvedUser {
	user: AuthUser;
	/** What `me` shows for this user: the gateway answers GET /api/me with it, without a second call. */
	profile: PublicUser;
}

/** Event payloads: ids, never a password, token or link. */
export interface UserEventPayload {
	userId: string;
}

interface LimitSettings {
	maxAttempts: number;
	/** Seconds. */
	window: number;
}

export interface AuthSettings extends DbSettings {
	/** Base of the links in mails, e.g. https://example.com. */
	publicUrl: string;
	accessToken: {
		issuer: string;
		audience: string;
		/** Seconds. */
		ttl: number;
	};
	/** Seconds a refresh token lives (each rotation issues a new one with this lifetime). */
	refreshTokenTtl: number;
	/** Fingerprints of rotated refresh tokens remembered per family, to recognise their reuse. */
	refreshHistory: number;
	/** scrypt cost for new hashes; older hashes are upgraded at the next sign-in. */
	password: ScryptParams;
	/** Password sign-in only after the e-mail address was confirmed. */
	requireVerifiedEmail: boolean;
	/** Scopes a new user gets (what their API keys may carry). */
	defaultScopes: string[];
	/** Most API keys one user may hold. */
	maxApiKeys: number;
	/** Seconds an account whose address was never confirmed lives; then it frees its names. */
	unconfirmedAccountTtl: number;
	/** Password hashes running at once and waiting (lib/auth/hash-gate); beyond them 503. */
	hashing: { concurrency: number; queue: number };
	limits: {
		/** Sign-in attempts per login name or e-mail address (counted when they start). */
		signIn: LimitSettings;
		/** Failed sign-ins and token submissions per client address (`meta.ip`). */
		address: LimitSettings;
		/** Mails (verification, magic link, reset) requested per e-mail address. */
		mail: LimitSettings;
	};
	cleanup: CleanupSchedule;
}

// ---------------------------------------------------------------------------------------------
// Params

interface SignUpParams {
	username: string;
	email: string;
	password: string;
}
interface TokenParams {
	token: string;
}
interface VerifyEmailParams {
	token: string;
	password?: string;
}
interface EmailParams {
	email: string;
}
interface SignInParams {
	login: string;
	password: string;
}
interface ResetPasswordParams {
	token: string;
	password: string;
	confirmPassword: string;
	keepApiKeys?: boolean;
}
interface SignOutEverywhereParams {
	includeApiKeys?: boolean;
}
interface ChangePasswordParams {
	currentPassword: string;
	newPassword: string;
}
interface RefreshParams {
	refreshToken: string;
}
interface ApiKeyParams {
	key: string;
}
interface CreateApiKeyParams {
	name: string;
	expiry?: number;
	scopes?: string[];
}
interface IdParams {
	id: string;
}
interface SetScopesParams {
	userId: string;
	scopes: string[];
}

type LinkKind = "verification" | "magicLink" | "passwordReset";

interface LinkSpec {
	tokenType: string;
	path: string;
	subject: string;
	lead: string;
	action: string;
}

const LINKS: Record<LinkKind, LinkSpec> = {
	verification: {
		tokenType: "verification",
		path: "/verify-email",
		subject: "Confirm your e-mail address",
		lead: "Please confirm your e-mail address for your new account.",
		action: "Confirm my address"
	},
	magicLink: {
		tokenType: "passwordless",
		path: "/magic-link",
		subject: "Your sign-in link",
		lead: "Use this link to sign in. It works once.",
		action: "Sign in"
	},
	passwordReset: {
		tokenType: "password-reset",
		path: "/reset-password",
		subject: "Reset your password",
		lead: "Someone (hopefully you) asked to reset your password. If it was not you, ignore this mail.",
		action: "Choose a new password"
	}
};

// ---------------------------------------------------------------------------------------------
// Service

interface AuthMethods {
	toPublicUser(user: UserRecord): PublicUser;
	toAuthUser(user: UserRecord, scopes: string[], via: AuthUser["via"]): AuthUser;
	requireCaller(ctx: Context<unknown, AuthMeta>): AuthUser;
	requireCallerRecord(ctx: Context<unknown, AuthMeta>): Promise<UserRecord>;
	findByLogin(login: string): Promise<UserRecord | null>;
	checkAddress(ctx: Context<unknown, AuthMeta>): void;
	recordAddressFailure(ctx: Context<unknown, AuthMeta>): void;
	limitMail(email: string): void;
	consumeLinkToken(
		ctx: Context<unknown, AuthMeta>,
		type: string,
		token: string
	): Promise<UserRecord>;
	proveAddress(ctx: Context, user: UserRecord, passwordShown: boolean): Promise<UserRecord>;
	passwordMatches(password: string, hash: string | null): Promise<boolean>;
	newPasswordHash(password: string): Promise<string>;
	requireSession(ctx: Context<unknown, AuthMeta>, what: string): AuthUser;
	accountLimitKey(user: UserRecord): string;
	removeAccount(ctx: Context | null, user: UserRecord, reason: string): Promise<void>;
	removeExpiredUnconfirmed(): Promise<number>;
	reportUnparsableAddresses(): Promise<void>;
	startSession(ctx: Context, user: UserRecord, method: string): Promise<SignInResult>;
	rotate(ctx: Context<unknown, AuthMeta>, refreshToken: string): Promise<SessionTokens>;
	revokeFamily(ctx: Context, family: RefreshFamilyRecord, reason: string): Promise<boolean>;
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
	openFamilyStore(): Promise<RefreshFamilyStore>;
}

interface AuthLocalVars extends StoreOwner<UserStore> {
	families: RefreshFamilyStore;
	accessTokens: AccessTokens;
	/** Verified against when an account does not exist, so that costs as much as a wrong password. */
	dummyHash: string;
	limiters: { signIn: AttemptLimiter; address: AttemptLimiter; mail: AttemptLimiter };
	hashGate: HashGate;
	/** Mails and re-hashes running after their action answered; awaited when the service stops. */
	pending: Set<Promise<void>>;
	pruneTimer: NodeJS.Timeout | null;
}

type AuthThis = Service<AuthSettings> & AuthMethods & AuthLocalVars;
type AuthContext<P = unknown> = Context<P, AuthMeta>;

const DAY = 86400;
const USERNAME = {
	type: "string",
	min: 3,
	max: 32,
	pattern: /^[a-zA-Z0-9_.-]+$/,
	messages: {
		stringPattern: "The 'username' field may only contain letters, digits, '_', '.' and '-'."
	}
} as const;
const EMAIL = { type: "email", max: 254 } as const;
const NEW_PASSWORD = { type: "string", min: 10, max: 128 } as const;
/** A password being checked: any length is "wrong", not a hint about the rules. */
const GIVEN_PASSWORD = { type: "string", min: 1, max: 1024 } as const;
/** Token strings: any shape is "invalid or expired", never a validation error echoing it. */
const TOKEN_STRING = { type: "string", min: 1, max: 4096 } as const;
/** The tokens service's own bound on a token's length. */
const MAX_TOKEN_LENGTH = 512;
const SCOPES = {
	type: "array",
	items: { type: "string", min: 1, max: 64 },
	max: 32,
	// Not fastest-validator's `unique`: its error quotes the duplicates (in the message and in
	// `expected`), and a caller may have put anything there, a token included.
	custom: (value: unknown, errors: { type: string; message: string }[]) => {
		if (Array.isArray(value) && new Set(value).size !== value.length) {
			errors.push({
				type: "arrayUnique",
				message: "The 'scopes' field lists a scope twice."
			});
		}
		return value;
	}
} as const;

function clientError(message: string, code: number, type: string, data?: unknown) {
	return new Errors.MoleculerClientError(message, code, type, data);
}

const unauthorized = () => clientError("Sign in first.", 401, "UNAUTHORIZED");
const invalidToken = () =>
	clientError("The token is invalid or has expired.", 401, "INVALID_TOKEN");
const invalidLink = () =>
	clientError("This link is invalid or has expired.", 400, "INVALID_OR_EXPIRED_TOKEN");
const invalidCredentials = () =>
	clientError("Wrong login or password.", 401, "INVALID_CREDENTIALS");
const hashingBusy = (retryAfter: number) =>
	new Errors.MoleculerRetryableError(
		"Too many sign-ins are being checked: try again shortly.",
		503,
		"BUSY",
		{ retryAfter }
	);
const sessionRequired = (what: string) =>
	clientError(`${what} needs a signed-in session, not an API key.`, 403, "SESSION_REQUIRED");
const tooManyAttempts = (retryAfterMs: number) =>
	clientError("Too many attempts: try again later.", 429, "TOO_MANY_ATTEMPTS", {
		retryAfter: Math.max(1, Math.ceil(retryAfterMs / 1000))
	});

/**
 * The new `tokensValidAfter` that rejects every access token issued to `user` so far. JWT times are
 * whole seconds, and a token issued within the second of an earlier cut-off carries that cut-off as
 * its `iat` (lib/auth/jwt), so the new one is past both the current second and the previous cut-off.
 */
function nextTokensCutoff(user: UserRecord, now: number): number {
	return Math.max((Math.floor(now / 1000) + 1) * 1000, user.tokensValidAfter + 1000);
}

function limitFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
	const raw = env[name];
	if (raw === undefined || raw === "") return fallback;
	if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
		throw new Error(`${name} must be a positive whole number`);
	}
	return Number(raw);
}

function describeLifetime(seconds: number): string {
	if (seconds % DAY === 0) return seconds === DAY ? "24 hours" : `${seconds / DAY} days`;
	if (seconds % 3600 === 0) return seconds === 3600 ? "1 hour" : `${seconds / 3600} hours`;
	if (seconds % 60 === 0) return `${seconds / 60} minutes`;
	return `${seconds} seconds`;
}

function escapeHtml(s: string): string {
	return s.replace(
		/[&<>"']/g,
		c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!
	);
}

const attemptWindow = durationFromEnv(process.env, "AUTH_ATTEMPT_WINDOW", 15 * 60);

const AuthService: ServiceSchema<AuthSettings, AuthMethods, AuthLocalVars> = {
	name: "auth",

	mixins: [
		createDbMixin<UserStore>("users", {
			nedb: db => new NedbUserStore(db),
			mongo: collection => new MongoUserStore(collection)
		}),
		CronMixin
	],

	settings: {
		publicUrl: (process.env.PUBLIC_URL || "http://localhost:3000").replace(/\/+$/, ""),
		accessToken: {
			issuer: process.env.JWT_ISSUER || "moleculer-tokens",
			audience: process.env.JWT_AUDIENCE || "moleculer-tokens",
			ttl: durationFromEnv(process.env, "ACCESS_TOKEN_TTL", 15 * 60)
		},
		refreshTokenTtl: durationFromEnv(process.env, "REFRESH_TOKEN_TTL", 30 * DAY),
		refreshHistory: 100,
		password: scryptParamsFromEnv(process.env),
		requireVerifiedEmail: process.env.AUTH_REQUIRE_VERIFIED_EMAIL !== "false",
		defaultScopes: listFromEnv(process.env, "AUTH_DEFAULT_SCOPES"),
		maxApiKeys: 50,
		unconfirmedAccountTtl: durationFromEnv(process.env, "AUTH_UNCONFIRMED_TTL", 7 * DAY),
		hashing: {
			// scrypt keeps a core busy per hash: half the cores leaves the rest to the event loop.
			concurrency: limitFromEnv(
				process.env,
				"AUTH_HASH_CONCURRENCY",
				Math.max(1, Math.floor(availableParallelism() / 2))
			),
			queue: limitFromEnv(process.env, "AUTH_HASH_QUEUE", 16)
		},
		limits: {
			signIn: {
				maxAttempts: limitFromEnv(process.env, "AUTH_MAX_SIGNIN_ATTEMPTS", 5),
				window: attemptWindow
			},
			address: {
				maxAttempts: limitFromEnv(process.env, "AUTH_MAX_FAILURES_PER_ADDRESS", 50),
				window: attemptWindow
			},
			mail: {
				maxAttempts: limitFromEnv(process.env, "AUTH_MAX_MAILS_PER_ADDRESS", 5),
				window: attemptWindow
			}
		},
		cleanup: cleanupScheduleFromEnv("AUTH", "30 0 * * *")
	},

	crons: [
		cleanupJob<AuthThis>("removeExpiredFamilies", async function (this: AuthThis) {
			if (!this.families) return;
			const removed = await this.families.removeExpired(Date.now());
			this.logger.info(`Removed ${removed} expired refresh-token families.`);
			const accounts = await this.removeExpiredUnconfirmed();
			this.logger.info(`Removed ${accounts} account(s) whose address was never confirmed.`);
		})
	],

	actions: {
		/** Creates an account and mails a link to confirm its address. */
		signUp: {
			params: {
				$$strict: true,
				username: USERNAME,
				email: EMAIL,
				password: NEW_PASSWORD
			},
			retryPolicy: { enabled: false },
			async handler(
				this: AuthThis,
				ctx: AuthContext<SignUpParams>
			): Promise<{ user: PublicUser }> {
				const { username, email, password } = ctx.params;
				const duplicate = () =>
					clientError(
						"That username or e-mail address is already registered.",
						409,
						"ALREADY_EXISTS"
					);
				const usernameKey = usernameKeyOf(username);
				const emailKey = emailKeyOf(email);
				const now = Date.now();
				// A cheap look first spares a scrypt run; the unique indexes are what decide. An
				// account never confirmed within its time frees its username and address.
				const unconfirmedCutoff = now - this.settings.unconfirmedAccountTtl * 1000;
				for (const holder of [
					await this.store.findByUsernameKey(usernameKey),
					await this.store.findByEmailKey(emailKey)
				]) {
					if (!holder) continue;
					if (holder.emailVerified || holder.createdAt >= unconfirmedCutoff) {
						throw duplicate();
					}
					await this.removeAccount(ctx, holder, "unconfirmed");
				}
				const user: UserRecord = {
					_id: randomUUID(),
					username,
					usernameKey,
					email: email.trim(),
					emailKey,
					passwordHash: await this.newPasswordHash(password),
					emailVerified: false,
					scopes: [...this.settings.defaultScopes],
					tokensValidAfter: 0,
					createdAt: now,
					updatedAt: now
				};
				try {
					await this.store.insert(user);
				} catch (err) {
					if (err instanceof DuplicateUserError) throw duplicate();
					throw err;
				}
				ctx.emit<UserEventPayload>("auth.userCreated", { userId: user._id });
				this.sendLinkLater(ctx, user, "verification");
				return { user: this.toPublicUser(user) };
			}
		},

		/**
		 * Spends a verification link's token and marks the address confirmed. The password chosen at
		 * sign-up survives the first confirmation only when it is given here too: whoever confirms
		 * owns the address, and may not be whoever signed up with it.
		 */
		verifyEmail: {
			params: {
				$$strict: true,
				token: TOKEN_STRING,
				password: { ...GIVEN_PASSWORD, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(
				this: AuthThis,
				ctx: AuthContext<VerifyEmailParams>
			): Promise<{ user: PublicUser; passwordKept: boolean }> {
				const { token, password } = ctx.params;
				let shownFor: UserRecord | null = null;
				if (password !== undefined && token.length <= MAX_TOKEN_LENGTH) {
					// Checked before the link is spent: a mistyped password must not use it up.
					this.checkAddress(ctx);
					const entity = await ctx.call<TokenEntity | null, object>("tokens.check", {
						type: "verification",
						token
					});
					const owner = entity && (await this.store.findById(entity.owner));
					if (owner && !owner.emailVerified) {
						const attempt = this.limiters.signIn.hit(this.accountLimitKey(owner));
						if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterMs);
						if (!(await this.passwordMatches(password, owner.passwordHash))) {
							this.recordAddressFailure(ctx);
							throw clientError(
								"The password is wrong.",
								401,
								"INVALID_CREDENTIALS",
								{
									field: "password"
								}
							);
						}
						this.limiters.signIn.reset(this.accountLimitKey(owner));
						shownFor = owner;
					}
				}
				const user = await this.consumeLinkToken(ctx, "verification", token);
				const passwordShown =
					shownFor !== null &&
					shownFor._id === user._id &&
					shownFor.passwordHash === user.passwordHash;
				const proven = await this.proveAddress(ctx, user, passwordShown);
				return {
					user: this.toPublicUser(proven),
					passwordKept: proven.passwordHash !== null
				};
			}
		},

		/** Mails a new verification link (the old ones stop working). Same answer for any address. */
		resendVerification: {
			params: { $$strict: true, email: EMAIL },
			retryPolicy: { enabled: false },
			async handler(this: AuthThis, ctx: AuthContext<EmailParams>): Promise<{ ok: true }> {
				this.limitMail(ctx.params.email);
				// Looked up after the answer: its time must not tell whether the account exists.
				this.later("verification mail", async () => {
					const user = await this.store.findByEmailKey(emailKeyOf(ctx.params.email));
					if (!user || user.emailVerified) return;
					await this.broker.call("tokens.removeByOwner", {
						owner: user._id,
						type: "verification"
					});
					await this.sendLink(ctx, user, "verification");
				});
				return { ok: true };
			}
		},

		/** Password sign-in with a username or an e-mail address. */
		signIn: {
			params: {
				$$strict: true,
				login: { type: "string", min: 1, max: 254 },
				password: GIVEN_PASSWORD
			},
			retryPolicy: { enabled: false },
			async handler(this: AuthThis, ctx: AuthContext<SignInParams>): Promise<SignInResult> {
				const { login, password } = ctx.params;
				this.checkAddress(ctx);
				const user = await this.findByLogin(login);
				// One budget per account, whichever of its names is typed; per login string when it
				// names no account.
				const key = user
					? this.accountLimitKey(user)
					: `login:${login.trim().toLowerCase()}`;
				const attempt = this.limiters.signIn.hit(key);
				if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterMs);

				// scrypt runs whether or not the account exists: the time taken tells nothing.
				const valid = await this.passwordMatches(password, user?.passwordHash ?? null);
				if (!user || !valid) {
					this.recordAddressFailure(ctx);
					throw invalidCredentials();
				}
				this.limiters.signIn.reset(key);
				if (this.settings.requireVerifiedEmail && !user.emailVerified) {
					// Only said to someone who knows the password.
					throw clientError(
						"Confirm your e-mail address first: use the link we mailed you.",
						403,
						"EMAIL_NOT_VERIFIED"
					);
				}
				this.upgradeHashLater(user, password);
				return this.startSession(ctx, user, "password");
			}
		},

		/** Mails a one-time sign-in link. Same answer for any address. */
		requestMagicLink: {
			params: { $$strict: true, email: EMAIL },
			retryPolicy: { enabled: false },
			async handler(this: AuthThis, ctx: AuthContext<EmailParams>): Promise<{ ok: true }> {
				this.limitMail(ctx.params.email);
				this.later("magicLink mail", async () => {
					const user = await this.store.findByEmailKey(emailKeyOf(ctx.params.email));
					if (user) await this.sendLink(ctx, user, "magicLink");
				});
				return { ok: true };
			}
		},

		/**
		 * Spends a magic link's token and signs in; the link proves the address, so it is confirmed.
		 * On an address proven for the first time, a password chosen before the proof is cleared.
		 */
		signInWithMagicLink: {
			params: { $$strict: true, token: TOKEN_STRING },
			retryPolicy: { enabled: false },
			async handler(this: AuthThis, ctx: AuthContext<TokenParams>): Promise<SignInResult> {
				const user = await this.consumeLinkToken(ctx, "passwordless", ctx.params.token);
				return this.startSession(
					ctx,
					await this.proveAddress(ctx, user, false),
					"magic-link"
				);
			}
		},

		/** Mails a password-reset link. Same answer for any address. */
		forgotPassword: {
			params: { $$strict: true, email: EMAIL },
			retryPolicy: { enabled: false },
			async handler(this: AuthThis, ctx: AuthContext<EmailParams>): Promise<{ ok: true }> {
				this.limitMail(ctx.params.email);
				this.later("passwordReset mail", async () => {
					const user = await this.store.findByEmailKey(emailKeyOf(ctx.params.email));
					if (user) await this.sendLink(ctx, user, "passwordReset");
				});
				return { ok: true };
			}
		},

		/**
		 * Spends a reset link's token and sets the password: account recovery. Every session of the
		 * user ends (refresh tokens revoked, access tokens rejected), their other reset links stop
		 * working, and their API keys are revoked unless `keepApiKeys` is true.
		 */
		resetPassword: {
			params: {
				$$strict: true,
				token: TOKEN_STRING,
				password: NEW_PASSWORD,
				confirmPassword: {
					type: "equal",
					field: "password",
					strict: true,
					messages: { equalField: "The 'confirmPassword' field must match 'password'." }
				},
				keepApiKeys: { type: "boolean", optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(
				this: AuthThis,
				ctx: AuthContext<ResetPasswordParams>
			): Promise<{ ok: true }> {
				const user = await this.consumeLinkToken(ctx, "password-reset", ctx.params.token);
				await this.setPassword(ctx, user, ctx.params.password, "reset");
				if (ctx.params.keepApiKeys !== true) {
					await ctx.call("tokens.removeByOwner", { owner: user._id, type: "api-key" });
				}
				// The link proved the address, and the password is the prover's own.
				await this.proveAddress(ctx, user, true);
				// Whoever was locked out by failed sign-ins has just proved who they are.
				this.limiters.signIn.reset(this.accountLimitKey(user));
				return { ok: true };
			}
		},

		/** Changes the signed-in user's password; every session ends, so they sign in again. */
		changePassword: {
			params: {
				$$strict: true,
				currentPassword: GIVEN_PASSWORD,
				newPassword: NEW_PASSWORD
			},
			retryPolicy: { enabled: false },
			async handler(
				this: AuthThis,
				ctx: AuthContext<ChangePasswordParams>
			): Promise<{ ok: true }> {
				this.requireSession(ctx, "Changing the password");
				const user = await this.requireCallerRecord(ctx);
				const key = this.accountLimitKey(user);
				const attempt = this.limiters.signIn.hit(key);
				if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterMs);
				if (!(await this.passwordMatches(ctx.params.currentPassword, user.passwordHash))) {
					throw clientError(
						"The current password is wrong.",
						403,
						"INVALID_CREDENTIALS",
						{ field: "currentPassword" }
					);
				}
				this.limiters.signIn.reset(key);
				await this.setPassword(ctx, user, ctx.params.newPassword, "change");
				return { ok: true };
			}
		},

		/**
		 * Spends a refresh token for a new access token and a new refresh token. Presenting a refresh
		 * token that was already rotated revokes its whole family. Never retried: the first attempt
		 * may have spent the token.
		 */
		refresh: {
			params: { $$strict: true, refreshToken: TOKEN_STRING },
			retryPolicy: { enabled: false },
			handler(this: AuthThis, ctx: AuthContext<RefreshParams>): Promise<SessionTokens> {
				return this.rotate(ctx, ctx.params.refreshToken);
			}
		},

		/** Ends the session of a refresh token (its whole family). Same answer for any token. */
		signOut: {
			params: { $$strict: true, refreshToken: TOKEN_STRING },
			retryPolicy: { enabled: false },
			async handler(this: AuthThis, ctx: AuthContext<RefreshParams>): Promise<{ ok: true }> {
				const { refreshToken } = ctx.params;
				if (refreshToken.length > MAX_TOKEN_LENGTH) return { ok: true };
				const family = await this.families.findByFingerprint(fingerprintOf(refreshToken));
				if (family) {
					if (await this.revokeFamily(ctx, family, "sign-out")) {
						ctx.emit<UserEventPayload>("auth.signedOut", { userId: family.userId });
					}
				} else {
					await ctx.call("tokens.remove", { type: "refresh", token: refreshToken });
				}
				return { ok: true };
			}
		},

		/**
		 * Ends every session of the signed-in user: refresh tokens removed, access tokens rejected;
		 * with `includeApiKeys`, their API keys revoked too. Needs a session, not an API key.
		 */
		signOutEverywhere: {
			params: { $$strict: true, includeApiKeys: { type: "boolean", optional: true } },
			retryPolicy: { enabled: false },
			async handler(
				this: AuthThis,
				ctx: AuthContext<SignOutEverywhereParams>
			): Promise<{ ok: true; revoked: number; apiKeysRevoked: number }> {
				this.requireSession(ctx, "Signing out everywhere");
				const user = await this.requireCallerRecord(ctx);
				const revoked = await this.revokeAllSessions(ctx, user._id, "sign-out-everywhere");
				const apiKeysRevoked =
					ctx.params.includeApiKeys === true
						? (
								await ctx.call<{ removed: number }, object>(
									"tokens.removeByOwner",
									{
										owner: user._id,
										type: "api-key"
									}
								)
							).removed
						: 0;
				await this.store.update(
					user._id,
					{ tokensValidAfter: nextTokensCutoff(user, Date.now()) },
					Date.now()
				);
				ctx.emit<UserEventPayload & { revoked: number }>("auth.signedOutEverywhere", {
					userId: user._id,
					revoked
				});
				return { ok: true, revoked, apiKeysRevoked };
			}
		},

		/** The signed-in user. */
		me: {
			params: { $$strict: true },
			async handler(this: AuthThis, ctx: AuthContext): Promise<PublicUser> {
				return this.toPublicUser(await this.requireCallerRecord(ctx));
			}
		},

		/** Who an access token (JWT) belongs to, for the gateway (seed 001's validate-token). */
		resolveAccessToken: {
			params: { $$strict: true, token: TOKEN_STRING },
			async handler(this: AuthThis, ctx: AuthContext<TokenParams>): Promise<ResolvedUser> {
				const claims = await this.accessTokens.verify(ctx.params.token);
				if (!claims) throw invalidToken();
				const user = await this.store.findById(claims.sub);
				if (!user || claims.iat * 1000 < user.tokensValidAfter) throw invalidToken();
				return {
					user: this.toAuthUser(user, user.scopes, "jwt"),
					profile: this.toPublicUser(user)
				};
			}
		},

		/** Who an API key belongs to, for the gateway; records its use. */
		resolveApiKey: {
			params: { $$strict: true, key: TOKEN_STRING },
			async handler(this: AuthThis, ctx: AuthContext<ApiKeyParams>): Promise<ResolvedUser> {
				if (ctx.params.key.length > MAX_TOKEN_LENGTH) throw invalidToken();
				const entity = await ctx.call<TokenEntity | null, object>("tokens.check", {
					type: "api-key",
					token: ctx.params.key,
					isUsed: true
				});
				if (!entity) throw invalidToken();
				const user = await this.store.findById(entity.owner);
				if (!user) throw invalidToken();
				// A key never carries more than its owner may have today.
				const scopes = entity.scopes.filter(s => user.scopes.includes(s));
				return {
					user: this.toAuthUser(user, scopes, "api-key"),
					profile: this.toPublicUser(user)
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
				scopes: { ...SCOPES, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(
				this: AuthThis,
				ctx: AuthContext<CreateApiKeyParams>
			): Promise<{ key: TokenEntity; token: string }> {
				this.requireSession(ctx, "Creating API keys");
				const user = await this.requireCallerRecord(ctx);
				const scopes = ctx.params.scopes ?? [];
				const notAllowed = scopes.filter(s => !user.scopes.includes(s));
				if (notAllowed.length > 0) {
					throw clientError("You may not grant these scopes.", 403, "SCOPE_NOT_ALLOWED", {
						scopes: notAllowed
					});
				}
				const listKeys = () =>
					ctx.call<TokenEntity[], object>("tokens.listByOwner", {
						owner: user._id,
						type: "api-key"
					});
				const tooMany = () =>
					clientError(
						`You already have ${this.settings.maxApiKeys} API keys: revoke one first.`,
						409,
						"TOO_MANY_KEYS"
					);
				if ((await listKeys()).length >= this.settings.maxApiKeys) throw tooMany();
				const { token, ...key } = await ctx.call<TokenEntity & { token: string }, object>(
					"tokens.generate",
					{
						type: "api-key",
						owner: user._id,
						name: ctx.params.name,
						scopes,
						...(ctx.params.expiry === undefined ? {} : { expiry: ctx.params.expiry })
					}
				);
				// The cap holds under concurrent creates on any number of nodes: every new key looks at
				// its place among the owner's keys, oldest first, and one past the cap takes itself
				// back. All creators see the same order, so exactly the cap's worth survive.
				const rank = (await listKeys())
					.sort((a, b) =>
						a.createdAt === b.createdAt
							? a.id.localeCompare(b.id)
							: a.createdAt.localeCompare(b.createdAt)
					)
					.findIndex(k => k.id === key.id);
				if (rank === -1 || rank >= this.settings.maxApiKeys) {
					await ctx.call("tokens.revoke", { id: key.id, owner: user._id });
					throw tooMany();
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
			async handler(this: AuthThis, ctx: AuthContext): Promise<TokenEntity[]> {
				const caller = this.requireCaller(ctx);
				return ctx.call<TokenEntity[], object>("tokens.listByOwner", {
					owner: caller.id,
					type: "api-key"
				});
			}
		},

		/** Revokes one of the signed-in user's API keys. Needs a session, not an API key. */
		revokeApiKey: {
			params: { $$strict: true, id: { type: "string", min: 1, max: 64 } },
			retryPolicy: { enabled: false },
			async handler(this: AuthThis, ctx: AuthContext<IdParams>): Promise<{ ok: true }> {
				const caller = this.requireSession(ctx, "Revoking API keys");
				const notFound = () => clientError("No such API key.", 404, "NOT_FOUND");
				// tokens.revoke takes any type: make sure this id is one of the caller's API keys.
				const keys = await ctx.call<TokenEntity[], object>("tokens.listByOwner", {
					owner: caller.id,
					type: "api-key"
				});
				if (!keys.some(k => k.id === ctx.params.id)) throw notFound();
				const removed = await ctx.call<TokenEntity | null, object>("tokens.revoke", {
					id: ctx.params.id,
					owner: caller.id
				});
				if (!removed) throw notFound();
				ctx.emit<UserEventPayload & { keyId: string }>("auth.apiKeyRevoked", {
					userId: caller.id,
					keyId: removed.id
				});
				return { ok: true };
			}
		},

		/**
		 * Sets what a user's access tokens and API keys may be granted (e.g. "admin"). For operators
		 * (REPL, trusted services): public, never on the gateway.
		 */
		setUserScopes: {
			visibility: "public",
			params: { $$strict: true, userId: { type: "string", min: 1, max: 64 }, scopes: SCOPES },
			async handler(
				this: AuthThis,
				ctx: AuthContext<SetScopesParams>
			): Promise<{ user: PublicUser; scopes: string[] }> {
				const user = await this.store.update(
					ctx.params.userId,
					{ scopes: ctx.params.scopes },
					Date.now()
				);
				if (!user) throw clientError("No such user.", 404, "NOT_FOUND");
				return { user: this.toPublicUser(user), scopes: user.scopes };
			}
		}
	},

	methods: {
		toPublicUser(this: AuthThis, user: UserRecord): PublicUser {
			return {
				id: user._id,
				username: user.username,
				email: user.email,
				emailVerified: user.emailVerified,
				createdAt: isoDate(user.createdAt),
				updatedAt: isoDate(user.updatedAt)
			};
		},

		toAuthUser(user: UserRecord, scopes: string[], via: AuthUser["via"]): AuthUser {
			return { id: user._id, username: user.username, scopes, via };
		},

		requireCaller(this: AuthThis, ctx: AuthContext): AuthUser {
			const user = ctx.meta.user;
			if (!user || typeof user.id !== "string" || user.id === "") throw unauthorized();
			return user;
		},

		async requireCallerRecord(this: AuthThis, ctx: AuthContext): Promise<UserRecord> {
			const user = await this.store.findById(this.requireCaller(ctx).id);
			if (!user) throw unauthorized();
			return user;
		},

		findByLogin(this: AuthThis, login: string): Promise<UserRecord | null> {
			// Usernames cannot contain "@", so a login with one can only be an address.
			return login.includes("@")
				? this.store.findByEmailKey(emailKeyOf(login))
				: this.store.findByUsernameKey(usernameKeyOf(login.trim()));
		},

		checkAddress(this: AuthThis, ctx: AuthContext): void {
			const ip = ctx.meta.ip;
			if (typeof ip !== "string" || ip === "") return;
			const key = `ip:${clientKey(ip)}`;
			if (this.limiters.address.remaining(key) === 0) {
				// hit() on a full key only reports when the oldest failure leaves the window.
				throw tooManyAttempts(this.limiters.address.hit(key).retryAfterMs);
			}
		},

		recordAddressFailure(this: AuthThis, ctx: AuthContext): void {
			const ip = ctx.meta.ip;
			if (typeof ip === "string" && ip !== "") {
				this.limiters.address.hit(`ip:${clientKey(ip)}`);
			}
		},

		/** Mails per address, counted whether or not it has an account: a 429 reveals nothing. */
		limitMail(this: AuthThis, email: string): void {
			const attempt = this.limiters.mail.hit(`mail:${emailKeyOf(email)}`);
			if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterMs);
		},

		/**
		 * Spends a link's token; the owner's record, or the one error for every kind of bad token
		 * (unknown, expired, used, of another type, malformed).
		 */
		async consumeLinkToken(
			this: AuthThis,
			ctx: AuthContext,
			type: string,
			token: string
		): Promise<UserRecord> {
			this.checkAddress(ctx);
			const entity =
				token.length > MAX_TOKEN_LENGTH
					? null
					: await ctx.call<TokenEntity | null, object>("tokens.consume", { type, token });
			const user = entity && (await this.store.findById(entity.owner));
			if (!user) {
				this.recordAddressFailure(ctx);
				throw invalidLink();
			}
			return user;
		},

		/**
		 * The address is proven (a link or code reached its mailbox). The first proof makes the
		 * prover the account's owner: unless they showed the password chosen before it, that
		 * password is cleared and every session, access token and API key issued before the proof
		 * ends, since someone else may have signed up with this address.
		 */
		async proveAddress(
			this: AuthThis,
			ctx: Context,
			user: UserRecord,
			passwordShown: boolean
		): Promise<UserRecord> {
			if (user.emailVerified) return user;
			const now = Date.now();
			const changes = passwordShown
				? { emailVerified: true }
				: {
						emailVerified: true,
						passwordHash: null,
						tokensValidAfter: nextTokensCutoff(user, now)
					};
			const updated = await this.store.update(user._id, changes, now);
			if (!updated) throw invalidLink();
			if (!passwordShown) {
				await this.revokeAllSessions(ctx, user._id, "address-proven");
				await ctx.call("tokens.removeByOwner", { owner: user._id, type: "api-key" });
			}
			ctx.emit<UserEventPayload>("auth.emailVerified", { userId: user._id });
			return updated;
		},

		/** A password against a stored hash (the dummy hash for none), one of a bounded few at once. */
		async passwordMatches(this: AuthThis, password: string, hash: string | null) {
			try {
				const valid = await this.hashGate.run(() =>
					verifyPassword(password, hash ?? this.dummyHash)
				);
				return valid && hash !== null;
			} catch (err) {
				if (err instanceof HashGateFullError) throw hashingBusy(err.retryAfterSeconds);
				throw err;
			}
		},

		async newPasswordHash(this: AuthThis, password: string): Promise<string> {
			try {
				return await this.hashGate.run(() =>
					hashPassword(password, this.settings.password)
				);
			} catch (err) {
				if (err instanceof HashGateFullError) throw hashingBusy(err.retryAfterSeconds);
				throw err;
			}
		},

		/** The caller, signed in with a session (an access token): API keys may not manage the account. */
		requireSession(this: AuthThis, ctx: AuthContext, what: string): AuthUser {
			const caller = this.requireCaller(ctx);
			if (caller.via !== "jwt") throw sessionRequired(what);
			return caller;
		},

		accountLimitKey(user: UserRecord): string {
			return `account:${user._id}`;
		},

		/** A user and everything they hold: tokens of every type, sessions. */
		async removeAccount(
			this: AuthThis,
			ctx: Context | null,
			user: UserRecord,
			reason: string
		): Promise<void> {
			const call = <T>(action: string, params: object) =>
				ctx
					? ctx.call<T, object>(action, params)
					: this.broker.call<T, object>(action, params);
			await this.families.revokeAllOfUser(user._id, reason, Date.now());
			await call("tokens.removeByOwner", { owner: user._id });
			if (await this.store.remove(user._id)) {
				this.broker.emit<UserEventPayload & { reason: string }>("auth.userDeleted", {
					userId: user._id,
					reason
				});
			}
		},

		/** Accounts never confirmed within `unconfirmedAccountTtl`, in batches. */
		async removeExpiredUnconfirmed(this: AuthThis): Promise<number> {
			const cutoff = Date.now() - this.settings.unconfirmedAccountTtl * 1000;
			let removed = 0;
			for (;;) {
				const batch = await this.store.findUnconfirmedBefore(cutoff, 100);
				if (batch.length === 0) return removed;
				for (const user of batch) await this.removeAccount(null, user, "unconfirmed");
				removed += batch.length;
			}
		},

		/** Stored addresses that are not one bare mailbox: reported, never changed. */
		async reportUnparsableAddresses(this: AuthThis): Promise<void> {
			const bad = (await this.store.listEmails()).filter(u => parseMailbox(u.email) === null);
			if (bad.length === 0) return;
			this.logger.warn(
				`${bad.length} stored account(s) have an address that is not one plain mailbox; ` +
					`no mail is sent to them until it is corrected. User ids: ${bad
						.slice(0, 20)
						.map(u => u._id)
						.join(", ")}${bad.length > 20 ? ", …" : ""}`
			);
		},

		/** A new refresh-token family, its first refresh token, and an access token. */
		async startSession(
			this: AuthThis,
			ctx: Context,
			user: UserRecord,
			method: string
		): Promise<SignInResult> {
			const family = randomUUID();
			const refresh = await ctx.call<TokenEntity & { token: string }, object>(
				"tokens.generate",
				{
					type: "refresh",
					owner: user._id,
					expiry: this.settings.refreshTokenTtl,
					data: { family, generation: 1 }
				}
			);
			const fingerprint = fingerprintOf(refresh.token);
			try {
				await this.families.insert({
					_id: family,
					userId: user._id,
					current: fingerprint,
					fingerprints: [fingerprint],
					generation: 1,
					createdAt: Date.now(),
					expiresAt: Date.parse(refresh.expiresAt!),
					revokedAt: null,
					revokedReason: null
				});
			} catch (err) {
				// No family, no session: the token must not outlive this failure.
				await ctx.call("tokens.revoke", { id: refresh.id, owner: user._id });
				throw err;
			}
			const access = await this.accessTokens.issue(user._id, user.tokensValidAfter / 1000);
			ctx.emit<UserEventPayload & { method: string }>("auth.signedIn", {
				userId: user._id,
				method
			});
			return {
				accessToken: access.token,
				refreshToken: refresh.token,
				tokenType: "Bearer",
				expiresIn: access.expiresIn,
				user: this.toPublicUser(user)
			};
		},

		/**
		 * Refresh-token rotation with reuse detection:
		 * 1. Find the family by the token's fingerprint. Unknown: not a token of ours (401).
		 * 2. Not the family's live token: it was rotated away, so it is being replayed; revoke the
		 *    family (401).
		 * 3. Spend it with tokens.consume: of concurrent refreshes with one token exactly one gets it.
		 *    The others are replays too and revoke the family, the winner's new token included.
		 * 4. Issue the next token and make it the live one with a compare-and-set that fails if the
		 *    family was revoked meanwhile; then the new token is revoked as well. The winner still
		 *    answers: the outcome is the same as if it had finished before the replay arrived.
		 */
		async rotate(
			this: AuthThis,
			ctx: AuthContext,
			refreshToken: string
		): Promise<SessionTokens> {
			this.checkAddress(ctx);
			const fail = () => {
				this.recordAddressFailure(ctx);
				return invalidToken();
			};
			if (refreshToken.length > MAX_TOKEN_LENGTH) throw fail();
			const fingerprint = fingerprintOf(refreshToken);
			const family = await this.families.findByFingerprint(fingerprint);
			if (!family || family.revokedAt !== null) throw fail();

			const reused = async () => {
				if (await this.revokeFamily(ctx, family, "reuse")) {
					this.logger.warn(
						`Refresh token reuse: family ${family._id} of user ${family.userId} revoked.`
					);
					ctx.emit<UserEventPayload & { family: string }>("auth.refreshTokenReused", {
						userId: family.userId,
						family: family._id
					});
				}
				return fail();
			};
			if (family.current !== fingerprint) throw await reused();

			const spent = await ctx.call<TokenEntity | null, object>("tokens.consume", {
				type: "refresh",
				token: refreshToken,
				owner: family.userId
			});
			if (!spent) {
				// Expired: the family simply ended. Otherwise a concurrent refresh spent it first.
				if (family.expiresAt <= Date.now()) throw fail();
				throw await reused();
			}
			const user = await this.store.findById(family.userId);
			if (!user) throw fail();

			const generation = family.generation + 1;
			const next = await ctx.call<TokenEntity & { token: string }, object>(
				"tokens.generate",
				{
					type: "refresh",
					owner: user._id,
					expiry: this.settings.refreshTokenTtl,
					data: { family: family._id, generation }
				}
			);
			const rotated = await this.families.rotate(
				family._id,
				fingerprint,
				{ fingerprint: fingerprintOf(next.token), expiresAt: Date.parse(next.expiresAt!) },
				this.settings.refreshHistory
			);
			if (!rotated) {
				// The family was revoked while this refresh was in flight (a replay of this same
				// token, a sign-out). This call spent the token first, so it answers, as it would have
				// had it finished a moment earlier; the new refresh token dies with its family.
				await ctx.call("tokens.revoke", { id: next.id, owner: user._id });
			}
			const access = await this.accessTokens.issue(user._id, user.tokensValidAfter / 1000);
			return {
				accessToken: access.token,
				refreshToken: next.token,
				tokenType: "Bearer",
				expiresIn: access.expiresIn
			};
		},

		/**
		 * Revokes a family: first the record (so a rotation in flight fails its compare-and-set),
		 * then whatever live token it has. Returns whether this call was the one that revoked it.
		 */
		async revokeFamily(
			this: AuthThis,
			ctx: Context,
			family: RefreshFamilyRecord,
			reason: string
		): Promise<boolean> {
			const revoked = await this.families.revoke(family._id, reason, Date.now());
			const tokens = await ctx.call<TokenEntity[], object>("tokens.listByOwner", {
				owner: family.userId,
				type: "refresh"
			});
			for (const t of tokens) {
				if (t.data?.family === family._id) {
					await ctx.call("tokens.revoke", { id: t.id, owner: family.userId });
				}
			}
			return revoked !== null;
		},

		/** Every family of the user first (see revokeFamily), then all their refresh tokens. */
		async revokeAllSessions(
			this: AuthThis,
			ctx: Context,
			userId: string,
			reason: string
		): Promise<number> {
			await this.families.revokeAllOfUser(userId, reason, Date.now());
			const { removed } = await ctx.call<{ removed: number }, object>(
				"tokens.removeByOwner",
				{ owner: userId, type: "refresh" }
			);
			return removed;
		},

		/** New hash; every session ends (refresh tokens, access tokens, pending reset links). */
		async setPassword(
			this: AuthThis,
			ctx: Context,
			user: UserRecord,
			password: string,
			reason: "reset" | "change"
		): Promise<void> {
			const passwordHash = await this.newPasswordHash(password);
			const now = Date.now();
			const updated = await this.store.update(
				user._id,
				{ passwordHash, tokensValidAfter: nextTokensCutoff(user, now) },
				now
			);
			if (!updated) throw reason === "reset" ? invalidLink() : unauthorized();
			await this.revokeAllSessions(ctx, user._id, `password-${reason}`);
			await ctx.call("tokens.removeByOwner", { owner: user._id, type: "password-reset" });
			ctx.emit<UserEventPayload & { reason: string }>("auth.passwordChanged", {
				userId: user._id,
				reason
			});
		},

		/** After a sign-in, re-hashes a password stored with weaker parameters than today's. */
		upgradeHashLater(this: AuthThis, user: UserRecord, password: string): void {
			const current = user.passwordHash;
			if (current === null || !needsRehash(current, this.settings.password)) return;
			this.later("password re-hash", async () => {
				const next = await this.newPasswordHash(password);
				await this.store.replacePasswordHash(user._id, current, next, Date.now());
			});
		},

		/**
		 * Mails a link after the action has answered: whether an address has an account must show
		 * neither in the answer nor in its timing, and a mail failure must not fail a sign-up.
		 */
		sendLinkLater(this: AuthThis, ctx: Context, user: UserRecord, kind: LinkKind): void {
			this.later(`${kind} mail`, () => this.sendLink(ctx, user, kind));
		},

		async sendLink(
			this: AuthThis,
			ctx: Context,
			user: UserRecord,
			kind: LinkKind
		): Promise<void> {
			const spec = LINKS[kind];
			// Calls made through the broker, not ctx: the action has answered, its deadline passed.
			const opts = { requestID: ctx.requestID ?? undefined };
			const generated = await this.broker.call<TokenEntity & { token: string }, object>(
				"tokens.generate",
				{ type: spec.tokenType, owner: user._id },
				opts
			);
			const link = `${this.settings.publicUrl}${spec.path}?token=${encodeURIComponent(generated.token)}`;
			const lifetime = describeLifetime(
				Math.round(
					(Date.parse(generated.expiresAt!) - Date.parse(generated.createdAt)) / 1000
				)
			);
			const text = [
				`Hello ${user.username},`,
				"",
				spec.lead,
				"",
				`${spec.action}: ${link}`,
				"",
				`The link works once and expires in ${lifetime}.`
			].join("\n");
			const html = [
				`<p>Hello ${escapeHtml(user.username)},</p>`,
				`<p>${escapeHtml(spec.lead)}</p>`,
				`<p><a href="${escapeHtml(link)}">${escapeHtml(spec.action)}</a></p>`,
				`<p>The link works once and expires in ${lifetime}.</p>`
			].join("\n");
			// Only to an address that is one plain mailbox (see reportUnparsableAddresses).
			const to = parseMailbox(user.email);
			if (to === null) throw new Error("The stored address is not one plain mailbox");
			await this.broker.call("mail.send", { to, subject: spec.subject, text, html }, opts);
		},

		/** Runs `task` after the current action has answered (not one synchronous step before). */
		later(this: AuthThis, label: string, task: () => Promise<unknown>): void {
			const run: Promise<void> = new Promise(resolve => setImmediate(resolve))
				.then(task)
				.then(() => undefined)
				.catch((err: Errors.MoleculerError) => {
					// Name and type only: never a message that might quote a link.
					this.logger.warn(
						`Background ${label} failed: ${err?.name ?? "Error"} ${err?.type ?? ""}`.trim()
					);
				})
				.finally(() => this.pending.delete(run));
			this.pending.add(run);
		},

		/**
		 * Refresh-token families live beside the users, through the same connection: the users'
		 * MongoDB database, or a second NeDB file in the same data folder (moleculer-db gives a
		 * service one collection).
		 */
		async openFamilyStore(this: AuthThis): Promise<RefreshFamilyStore> {
			if (this.storeKind === "mongo") {
				const { db } = (
					this as unknown as { adapter: { db: { collection(n: string): unknown } } }
				).adapter;
				return new MongoRefreshFamilyStore(
					db.collection("refresh_families") as FamilyCollection
				);
			}
			const filename = join(
				this.settings.dataDir ?? dataDirFromEnv(process.env),
				"refresh_families.db"
			);
			const adapter = embeddedAdapter(filename) as unknown as {
				init(broker: unknown, service: unknown): void;
				connect(): Promise<void>;
				db: Datastore<never>;
			};
			adapter.init(this.broker, this);
			await adapter.connect();
			await restrictDataFile(filename);
			return new NedbRefreshFamilyStore(rollBackFailedWrites(adapter.db));
		}
	},

	created(this: AuthThis) {
		const dataDir = this.settings.dataDir ?? dataDirFromEnv(process.env);
		this.accessTokens = new AccessTokens({
			secret: resolveSecret({
				envName: "JWT_SECRET",
				fileName: "jwt-secret",
				env: process.env,
				dataDir,
				warn: message => this.logger.warn(message)
			}),
			...this.settings.accessToken
		});
		const limiter = (l: LimitSettings) =>
			new AttemptLimiter({ maxAttempts: l.maxAttempts, windowMs: l.window * 1000 });
		this.limiters = {
			signIn: limiter(this.settings.limits.signIn),
			address: limiter(this.settings.limits.address),
			mail: limiter(this.settings.limits.mail)
		};
		this.hashGate = new HashGate(this.settings.hashing);
		this.pending = new Set();
		this.pruneTimer = null;
	},

	async started(this: AuthThis) {
		this.families = await this.openFamilyStore();
		await this.families.ensureIndexes();
		this.dummyHash = await createDummyHash(this.settings.password);
		await this.reportUnparsableAddresses();
		this.pruneTimer = setInterval(() => {
			for (const l of Object.values(this.limiters)) l.prune();
		}, 60_000);
		this.pruneTimer.unref();
	},

	async stopped(this: AuthThis) {
		if (this.pruneTimer) clearInterval(this.pruneTimer);
		await Promise.allSettled([...this.pending]);
	}
};

export default AuthService;
