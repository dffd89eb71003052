/**
 * The `auth` service: accounts, sign-in, sessions and API keys, on top of the `tokens` service.
 *
 * Every token (e-mail verification, magic link, password reset, refresh, API key) is a `tokens`
 * token, reached only through the broker, so `auth` and `tokens` may run on different nodes. Access
 * tokens are short-lived JWTs (lib/auth/jwt). Passwords are scrypt hashes (lib/auth/password) and never leave
 * this service: not in answers, logs, events or errors.
 *
 * Refresh tokens rotate on every use; a rotated token presented again revokes its whole family
 * (RFC 9700 §4.14.2), see lib/auth/store/refresh-family-store and docs/sessions.md.
 */
import { hkdfSync, randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { type ServiceSchema } from "moleculer";
import createDbMixin from "../../mixins/db.mixin";
import * as userStores from "../../lib/auth/store/auth-store-adapters";
import CronMixin, { cleanupJob, cleanupScheduleFromEnv } from "../../mixins/cron.mixin";
import { attemptLimitsFromEnv } from "../../lib/auth/sign-in-attempts/attempt-limits";
import { HashGate } from "../../lib/auth/hash-gate";
import { durationFromEnv } from "../../lib/config/durations";
import {
	mailQueueFromEnv,
	positiveWholeNumberFromEnv,
	publicUrlFromEnv
} from "../../lib/config/env";
import { publicUser } from "../../lib/auth/public-user";
import { AccessTokens } from "../../lib/auth/jwt";
import { createDummyHash, scryptParamsFromEnv } from "../../lib/auth/password";
import { resolveSecret } from "../../lib/config/secrets";
import {
	dataDirFromEnv,
	isProduction,
	listFromEnv,
	wholeNumberFromEnv
} from "../../lib/config/env";
import {
	DuplicateUserError,
	emailKeyOf,
	usernameKeyOf,
	type UserRecord,
	type UserStore
} from "../../lib/auth/store/user-store";
import {
	DAY,
	EMAIL,
	GIVEN_PASSWORD,
	NEW_PASSWORD,
	SCOPES,
	TOKEN_STRING,
	USERNAME
} from "../../lib/auth/auth-params";
import {
	alreadyRegistered,
	invalidCredentials,
	noSuchUser,
	sessionRequired,
	tooManyAttempts,
	unauthorized,
	emailNotVerified
} from "../../lib/auth/auth-errors";
import type { AuthUser, PublicUser, UserEventPayload } from "../../lib/auth/auth-types";
import type {
	AuthContext,
	AuthLocalVars,
	AuthMethods,
	AuthSettings,
	AuthThis,
	SetScopesParams,
	SignInParams,
	SignUpParams
} from "./auth-internals";
import MailHandoverMixin from "./accounts/mail-handover.mixin";
import CallerCacheMixin from "./sessions/caller-cache.mixin";
import PasskeysMixin from "./sign-in/passkeys.mixin";
import AdminAccessMixin from "./admin/admin-access.mixin";
import UserAdminMixin from "./admin/user-admin.mixin";
import UserLockMixin from "./admin/user-lock.mixin";
import { checkRelyingParty, relyingPartyFromEnv } from "../../lib/auth/passkeys/relying-party";
import { CallerCache, type CallerChange } from "../../lib/auth/caller-cache";
import { NotifyingFamilyStore, NotifyingUserStore } from "../../lib/auth/store/notifying-stores";
import { TouchBuffer } from "../../lib/tokens/touch-buffer";
import ServiceTokensMixin from "./service-api/service-tokens.mixin";
import CodesMixin from "./sign-in/email-codes.mixin";
import LimitsMixin, { inMemoryLimiters } from "./sign-in/attempt-limits.mixin";
import TotpMixin from "./sign-in/totp.mixin";
import SigningKeysMixin from "./oauth/signing-keys.mixin";
import OAuthMixin from "./oauth/oauth.mixin";
import ApiKeySettingsMixin from "./api-keys/api-key-settings.mixin";
import KeyLimitsMixin from "./api-keys/key-limits.mixin";
import { jwtAlgorithmFromEnv } from "../../lib/auth/signing-keys";
import { countCleanup, registerMetrics } from "../../lib/broker/project-metrics";
import SecondStepsMixin from "./sign-in/second-steps.mixin";
import type { SignInAnswer } from "../../lib/auth/auth-types";
import SessionsMixin from "./sessions/refresh-sessions.mixin";
import ApiKeysMixin from "./api-keys/api-keys.mixin";
import SessionListMixin from "./sessions/session-list.mixin";
import AddressesMixin from "./accounts/addresses.mixin";
import AccountDeletionMixin from "./accounts/account-deletion.mixin";
import PasswordsMixin from "./accounts/passwords.mixin";
export type {
	AuthMeta,
	AuthUser,
	PublicUser,
	ResolvedUser,
	SessionTokens,
	SignInResult,
	UserEventPayload
} from "../../lib/auth/auth-types";
export type { Challenge, SignInAnswer } from "../../lib/auth/auth-types";
import { describeCause } from "../../lib/store/store-errors";
import { SealedBox } from "../../lib/common/sealed-box";
export type { AuthSettings } from "./auth-internals";

const AuthService: ServiceSchema<AuthSettings, AuthMethods, AuthLocalVars> = {
	name: "auth",

	mixins: [
		createDbMixin<UserStore>("users", userStores),
		CronMixin,
		SessionsMixin,
		SessionListMixin,
		ApiKeysMixin,
		ApiKeySettingsMixin,
		KeyLimitsMixin,
		AddressesMixin,
		AccountDeletionMixin,
		PasswordsMixin,
		LimitsMixin,
		CodesMixin,
		SecondStepsMixin,
		TotpMixin,
		SigningKeysMixin,
		OAuthMixin,
		ServiceTokensMixin,
		MailHandoverMixin,
		CallerCacheMixin,
		PasskeysMixin,
		AdminAccessMixin,
		UserAdminMixin,
		UserLockMixin
	],

	settings: {
		publicUrl: publicUrlFromEnv(process.env),
		mailQueue: mailQueueFromEnv(process.env),
		accessToken: {
			issuer: process.env.JWT_ISSUER || "moleculer-tokens",
			audience: process.env.JWT_AUDIENCE || "moleculer-tokens",
			ttl: durationFromEnv(process.env, "ACCESS_TOKEN_TTL", 15 * 60),
			algorithm: jwtAlgorithmFromEnv(process.env)
		},
		signingKeys: {
			publishDelay: durationFromEnv(process.env, "JWT_KEY_PUBLISH_DELAY", 300),
			reloadInterval: durationFromEnv(process.env, "JWT_KEY_RELOAD_INTERVAL", 30)
		},
		refreshTokenTtl: durationFromEnv(process.env, "REFRESH_TOKEN_TTL", 30 * DAY),
		refreshHistory: 100,
		refreshReuseInterval: durationFromEnv(process.env, "REFRESH_REUSE_INTERVAL", 10),
		callerCacheTtl: durationFromEnv(process.env, "AUTH_CACHE_TTL", 1),
		/** Live sessions per user; the oldest ends when a sign-in would exceed it (0: no limit). */
		maxSessions: wholeNumberFromEnv(process.env, "AUTH_MAX_SESSIONS", 100),
		recentSignIn: durationFromEnv(process.env, "AUTH_RECENT_SIGN_IN", 600),
		resetRemovesFactorsWithin: durationFromEnv(
			process.env,
			"AUTH_RESET_REMOVES_FACTORS_WITHIN",
			3 * DAY
		),
		password: scryptParamsFromEnv(process.env),
		requireVerifiedEmail: process.env.AUTH_REQUIRE_VERIFIED_EMAIL !== "false",
		verifyNewDevices: process.env.AUTH_VERIFY_NEW_DEVICES === "true",
		defaultScopes: listFromEnv(process.env, "AUTH_DEFAULT_SCOPES"),
		maxApiKeys: 50,
		unconfirmedAccountTtl: durationFromEnv(process.env, "AUTH_UNCONFIRMED_TTL", 7 * DAY),
		hashing: {
			// scrypt keeps a core busy per hash: half the cores leaves the rest to the event loop.
			concurrency: positiveWholeNumberFromEnv(
				process.env,
				"AUTH_HASH_CONCURRENCY",
				Math.max(1, Math.floor(availableParallelism() / 2))
			),
			queue: positiveWholeNumberFromEnv(process.env, "AUTH_HASH_QUEUE", 16)
		},
		limits: attemptLimitsFromEnv(process.env),
		codeTtl: durationFromEnv(process.env, "AUTH_CODE_TTL", 5 * 60),
		totpIssuer: process.env.TOTP_ISSUER || "moleculer-tokens",
		cleanup: cleanupScheduleFromEnv("AUTH", "30 0 * * *")
	},

	crons: [
		cleanupJob<AuthThis>("removeExpiredFamilies", async function (this: AuthThis) {
			if (!this.families) return;
			const startedAt = Date.now();
			const removed = await this.families.removeExpired(Date.now());
			this.logger.info(`Removed ${removed} expired refresh-token families.`);
			const accounts = await this.removeExpiredUnconfirmed();
			this.logger.info(`Removed ${accounts} account(s) whose address was never confirmed.`);
			const keys = (await this.keyRing?.removeExpired()) ?? 0;
			if (keys > 0) this.logger.info(`Removed ${keys} retired signing key(s).`);
			const windows = (await this.keyUsage?.removeEndedWindows(Date.now())) ?? 0;
			countCleanup(
				this.broker,
				"auth",
				removed + accounts + keys + windows,
				Date.now() - startedAt
			);
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
			async handler(ctx: AuthContext<SignUpParams>): Promise<{ user: PublicUser }> {
				const { username, email, password } = ctx.params;
				const duplicate = () => alreadyRegistered();
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

		/** Password sign-in with a username or an e-mail address. */
		signIn: {
			params: {
				$$strict: true,
				login: { type: "string", min: 1, max: 254 },
				password: GIVEN_PASSWORD,
				deviceToken: { ...TOKEN_STRING, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<SignInParams>): Promise<SignInAnswer> {
				const { login, password } = ctx.params;
				await this.checkAddress(ctx);
				const user = await this.findByLogin(login);
				// One budget per account, whichever of its names is typed; per login string when it
				// names no account.
				const key = user
					? this.accountLimitKey(user)
					: `login:${login.trim().toLowerCase()}`;
				const attempt = await this.limiters.signIn.hit(key);
				if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterMs);

				// scrypt runs whether or not the account exists: the time taken tells nothing.
				const valid = await this.passwordMatches(password, user?.passwordHash ?? null);
				if (!user || !valid) {
					await this.recordAddressFailure(ctx);
					throw invalidCredentials();
				}
				await this.limiters.signIn.reset(key);
				if (this.settings.requireVerifiedEmail && !user.emailVerified) {
					// Only said to someone who knows the password.
					throw emailNotVerified();
				}
				this.upgradeHashLater(user, password);
				return this.completeSignIn(ctx, user, "password", ctx.params.deviceToken);
			}
		},

		/** The signed-in user. */
		me: {
			params: { $$strict: true },
			async handler(ctx: AuthContext): Promise<PublicUser> {
				return this.toPublicUser(await this.requireCallerRecord(ctx));
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
				ctx: AuthContext<SetScopesParams>
			): Promise<{ user: PublicUser; scopes: string[] }> {
				const user = await this.store.update(
					ctx.params.userId,
					{ scopes: ctx.params.scopes },
					Date.now()
				);
				if (!user) throw noSuchUser();
				return { user: this.toPublicUser(user), scopes: user.scopes };
			}
		}
	},

	methods: {
		toPublicUser(this: AuthThis, user: UserRecord): PublicUser {
			return publicUser(user);
		},

		toAuthUser(
			user: UserRecord,
			scopes: string[],
			via: AuthUser["via"],
			session?: string
		): AuthUser {
			const caller: AuthUser = { id: user._id, username: user.username, scopes, via };
			if (session !== undefined) caller.session = session;
			return caller;
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

		/** The caller, signed in with a session (an access token): API keys may not manage the account. */
		requireSession(this: AuthThis, ctx: AuthContext, what: string): AuthUser {
			const caller = this.requireCaller(ctx);
			if (caller.via !== "jwt") throw sessionRequired(what);
			return caller;
		}
	},

	created(this: AuthThis) {
		registerMetrics(this.broker, [
			"mtk.auth.sign_ins.total",
			"mtk.auth.refreshes.total",
			"mtk.auth.passkeys.total",
			"mtk.auth.code_failures.total",
			"mtk.limit_refusals.total",
			"mtk.mail.queue.total"
		]);
		const dataDir = this.settings.dataDir ?? dataDirFromEnv(process.env);
		const jwtSecret = resolveSecret({
			envName: "JWT_SECRET",
			fileName: "jwt-secret",
			env: process.env,
			dataDir,
			warn: message => this.logger.warn(message)
		});
		this.signingKeyBox = new SealedBox(jwtSecret, "signing-keys");
		this.accessTokens = new AccessTokens({
			secret: jwtSecret,
			...this.settings.accessToken,
			// The ring is loaded once the store is connected (started).
			keys: {
				signingKey: () => this.keyRing!.signingKey(),
				verificationKey: kid => this.keyRing?.verificationKey(kid) ?? Promise.resolve(null)
			}
		});
		this.successorBox = new SealedBox(jwtSecret, "refresh-successor");
		this.totpBox = new SealedBox(jwtSecret, "totp-secret");
		this.recoveryKey = Buffer.from(
			hkdfSync("sha256", jwtSecret, "", "totp-recovery-codes", 32)
		);
		this.passkeyHandleKey = Buffer.from(
			hkdfSync("sha256", jwtSecret, "", "passkey-user-handles", 32)
		);
		// WEBAUTHN_*, else this node's public URL; a production node checks it now.
		this.relyingParty =
			this.settings.webauthn ??
			relyingPartyFromEnv({ ...process.env, PUBLIC_URL: this.settings.publicUrl });
		this.relyingPartyChecked = isProduction(process.env);
		this.passkeysOn =
			!this.relyingPartyChecked ||
			checkRelyingParty(this.relyingParty, process.env, m => this.logger.warn(m));
		this.callers = new CallerCache(this.settings.callerCacheTtl * 1000);
		this.keyUses = new TouchBuffer(
			async ids => void (await this.broker.call("tokens.markUsed", { ids })),
			1000,
			err => this.logger.warn(`Could not record API keys' last use: ${describeCause(err)}`)
		);
		this.limiters = inMemoryLimiters(this.settings.limits);
		this.hashGate = new HashGate(this.settings.hashing);
		this.pending = new Set();
		this.pruneTimer = null;
		this.successorTimer = null;
	},

	async started(this: AuthThis) {
		await this.startKeyRing();
		// Writes that can shut a caller out are forgotten from every node's caches.
		const changed = (change: CallerChange) => this.callersChanged(change);
		this.store = new NotifyingUserStore(this.store, changed);
		this.families = new NotifyingFamilyStore(await this.openFamilyStore(), changed);
		await this.families.ensureIndexes();
		this.rotation = this.newRefreshRotation();
		await this.startKeyUsage();
		this.passkeys = await this.openPasskeyStore();
		await this.passkeys.ensureIndexes();
		this.dummyHash = await createDummyHash(this.settings.password);
		await this.reportUnparsableAddresses();
		this.useSharedLimitersOnPostgres();
		this.pruneTimer = setInterval(() => {
			for (const l of Object.values(this.limiters)) {
				Promise.resolve(l.prune()).catch(err =>
					this.logger.warn(`Could not prune attempt limits: ${describeCause(err)}`)
				);
			}
		}, 60_000);
		this.pruneTimer.unref();
		// Sealed successors are never opened after the reuse interval, and are erased within another.
		const interval = this.settings.refreshReuseInterval * 1000;
		if (interval > 0) {
			this.successorTimer = setInterval(() => {
				this.families
					.clearSuccessorsBefore(Date.now() - interval)
					.catch(err =>
						this.logger.warn(
							`Could not clear refresh successors: ${describeCause(err)}`
						)
					);
			}, interval);
			this.successorTimer.unref();
		}
	},

	async stopped(this: AuthThis) {
		if (this.pruneTimer) clearInterval(this.pruneTimer);
		if (this.successorTimer) clearInterval(this.successorTimer);
		await Promise.allSettled([...this.pending]);
	}
};

export default AuthService;
