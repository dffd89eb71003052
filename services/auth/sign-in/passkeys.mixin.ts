/**
 * Passkeys (WebAuthn, docs/passkeys.md): a signed-in user adds, lists, renames and removes them;
 * anyone signs in with one, no login typed (discoverable credentials). The ceremonies themselves
 * are lib/auth/passkeys/ceremonies (on @simplewebauthn/server); challenges are single-use
 * `passkey-challenge` tokens of `tokens`, so an answer is accepted once, on any node.
 *
 * A sign-in whose authenticator verified the user (PIN, biometrics) is two factors in one and
 * starts the session at once; one without user verification goes on to the account's second step
 * (TOTP) like a password would.
 */
import {
	noSuchPasskey,
	noSuchUser,
	passkeyExists,
	passkeyNotVerified,
	passkeyRefused,
	passkeysUnavailable
} from "../../../lib/auth/auth-errors";
import { fieldError } from "../../../lib/broker/field-error";
import { count } from "../../../lib/broker/project-metrics";
import {
	authenticationOptions,
	challengeOf,
	registrationOptions,
	userHandleOf,
	verifyAuthentication,
	verifyRegistration,
	type AuthenticationResponseJSON,
	type RegistrationResponseJSON
} from "../../../lib/auth/passkeys/ceremonies";
import { checkRelyingParty } from "../../../lib/auth/passkeys/relying-party";
import type { PasskeyRecord, PasskeyStore } from "../../../lib/auth/store/passkey-store";
import { passkeyStores } from "../../../lib/auth/store/auth-store-adapters";
import { isoDate } from "../../../lib/common/iso-date";
import { TOKEN_TYPES, type TokenEntity } from "../../../lib/tokens/token-types";
import type { SignInAnswer, SignInResult, UserEventPayload } from "../../../lib/auth/auth-types";
import { TOKEN_STRING } from "../../../lib/auth/auth-params";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthThis } from "../auth-internals";

const METRIC = "mtk.auth.passkeys.total";
const NAME = { type: "string", min: 1, max: 100, trim: true } as const;
const ID = { type: "string", min: 1, max: 1024 } as const;
/** A browser's `credential.toJSON()`: checked in depth by the ceremony, not by the validator. */
const RESPONSE = { type: "object" } as const;

/** What a user sees of a passkey: never its key. */
export interface PublicPasskey {
	id: string;
	name: string;
	createdAt: string;
	lastUsedAt: string | null;
	deviceType: PasskeyRecord["deviceType"];
	backedUp: boolean;
	transports: string[];
	cloned: boolean;
}

function publicPasskey(p: PasskeyRecord): PublicPasskey {
	return {
		id: p._id,
		name: p.name,
		createdAt: isoDate(p.createdAt),
		lastUsedAt: p.lastUsedAt === null ? null : isoDate(p.lastUsedAt),
		deviceType: p.deviceType,
		backedUp: p.backedUp,
		transports: p.transports,
		cloned: p.clonedAt !== null
	};
}

/** One answer for every refused passkey sign-in: what failed is for the logs and metrics. */
const refused = passkeyRefused;

interface ChallengeData {
	purpose: "register" | "sign-in" | "second-step";
}

const PasskeysMixin = authMixin({
	actions: {
		/** Creation options for a new passkey of the signed-in user (a recent sign-in, or the password). */
		passkeyRegistrationOptions: {
			params: { $$strict: true, password: { type: "string", max: 1024, optional: true } },
			async handler(ctx: AuthContext<{ password?: string }>) {
				const caller = this.requireSession(ctx, "Adding passkeys");
				const user = await this.requireCallerRecord(ctx);
				await this.requireRecentSignIn(ctx, caller, user, ctx.params.password);
				const existing = await this.passkeys.listOfUser(user._id);
				const challenge = await this.newPasskeyChallenge(ctx, user._id, "register");
				return registrationOptions(
					this.relyingParty,
					{
						id: user._id,
						username: user.username,
						handle: userHandleOf(this.passkeyHandleKey, user._id)
					},
					existing,
					challenge
				);
			}
		},

		/** Verifies a registration answer and keeps the passkey. */
		addPasskey: {
			params: { $$strict: true, response: RESPONSE, name: { ...NAME, optional: true } },
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<{ response: RegistrationResponseJSON; name?: string }>
			): Promise<PublicPasskey> {
				this.requireSession(ctx, "Adding passkeys");
				const user = await this.requireCallerRecord(ctx);
				const challenge = await this.answeredChallenge(
					ctx,
					ctx.params.response,
					"register"
				);
				if (!challenge || challenge.owner !== user._id)
					throw this.passkeyFailure("register");
				const made = await verifyRegistration(
					this.relyingParty,
					ctx.params.response,
					challenge.token
				);
				if (!made) throw this.passkeyFailure("register");
				const record: PasskeyRecord = {
					_id: made.id,
					userId: user._id,
					name: ctx.params.name ?? `Passkey ${new Date().toISOString().slice(0, 10)}`,
					publicKey: made.publicKey,
					counter: made.counter,
					transports: made.transports,
					deviceType: made.deviceType,
					backedUp: made.backedUp,
					createdAt: Date.now(),
					lastUsedAt: null,
					clonedAt: null
				};
				if (await this.passkeys.findById(record._id)) {
					throw passkeyExists();
				}
				await this.passkeys.insert(record);
				count(this.broker, METRIC, { operation: "register", result: "added" });
				ctx.emit<UserEventPayload & { passkeyId: string }>("auth.passkeyAdded", {
					userId: user._id,
					passkeyId: record._id
				});
				return publicPasskey(record);
			}
		},

		/** A user's passkeys, by login: for operators (the REPL's passkeys-list), never the gateway. */
		userPasskeys: {
			visibility: "public",
			params: { $$strict: true, login: { type: "string", min: 1, max: 254 } },
			async handler(ctx: AuthContext<{ login: string }>): Promise<PublicPasskey[]> {
				const user = await this.findByLogin(ctx.params.login);
				if (!user) throw noSuchUser();
				return (await this.passkeys.listOfUser(user._id)).map(publicPasskey);
			}
		},

		/** The signed-in user's passkeys, oldest first. */
		listPasskeys: {
			params: { $$strict: true },
			async handler(ctx: AuthContext): Promise<PublicPasskey[]> {
				const caller = this.requireCaller(ctx);
				return (await this.passkeys.listOfUser(caller.id)).map(publicPasskey);
			}
		},

		renamePasskey: {
			params: { $$strict: true, id: ID, name: NAME },
			async handler(ctx: AuthContext<{ id: string; name: string }>): Promise<PublicPasskey> {
				const caller = this.requireSession(ctx, "Renaming passkeys");
				const renamed = await this.passkeys.rename(
					ctx.params.id,
					caller.id,
					ctx.params.name
				);
				if (!renamed) throw noSuchPasskey();
				return publicPasskey(renamed);
			}
		},

		removePasskey: {
			params: { $$strict: true, id: ID },
			async handler(ctx: AuthContext<{ id: string }>) {
				const caller = this.requireSession(ctx, "Removing passkeys");
				if (!(await this.passkeys.remove(ctx.params.id, caller.id))) throw noSuchPasskey();
				count(this.broker, METRIC, { operation: "remove", result: "removed" });
				ctx.emit<UserEventPayload & { passkeyId: string }>("auth.passkeyRemoved", {
					userId: caller.id,
					passkeyId: ctx.params.id
				});
				return { ok: true };
			}
		},

		/**
		 * Request options for a passkey sign-in: no credentials listed (the browser offers the
		 * passkeys it has for this site), or, with `login`, that account's; an unknown login gets
		 * a made-up credential of the same shape, so the answer does not tell who has an account.
		 */
		passkeySignInOptions: {
			params: {
				$$strict: true,
				login: { type: "string", min: 1, max: 254, optional: true },
				challenge: { ...TOKEN_STRING, optional: true }
			},
			async handler(ctx: AuthContext<{ login?: string; challenge?: string }>) {
				this.requirePasskeys();
				const { login, challenge } = ctx.params;
				// `!= null`: validation lets an optional field through as null.
				if (challenge != null) {
					// A second step: the account of the mfaRequired answer's challenge.
					const pending = await this.openChallenge(ctx, challenge, "totp");
					const own = await this.passkeys.listOfUser(pending.user._id);
					const token = await this.newPasskeyChallenge(
						ctx,
						pending.user._id,
						"second-step"
					);
					return authenticationOptions(this.relyingParty, own, token);
				}
				let allowed: PasskeyRecord[] = [];
				if (login != null) {
					const user = await this.findByLogin(login);
					allowed = user ? await this.passkeys.listOfUser(user._id) : [];
					if (allowed.length === 0) allowed = [this.madeUpPasskey(login)];
				}
				const token = await this.newPasskeyChallenge(ctx, "passkey-sign-in", "sign-in");
				return authenticationOptions(this.relyingParty, allowed, token);
			}
		},

		/** Signs in with a passkey's answer: a session exactly as signIn answers it. */
		signInWithPasskey: {
			params: {
				$$strict: true,
				response: RESPONSE,
				deviceToken: { type: "string", max: 1024, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<{ response: AuthenticationResponseJSON }>
			): Promise<SignInAnswer> {
				this.requirePasskeys();
				const { user, userVerified } = await this.usePasskey(
					ctx,
					ctx.params.response,
					"sign-in"
				);
				// User verification is a second factor in the same gesture: no TOTP step after it.
				return userVerified
					? this.startSession(ctx, user, "passkey")
					: this.completeSignIn(ctx, user, "passkey");
			}
		},

		/**
		 * The second step of a password sign-in on an account with TOTP, with a passkey instead of
		 * a code: the `challenge` of the mfaRequired answer, and an assertion for options asked
		 * with that challenge. Limited like TOTP codes.
		 */
		signInWithPasskeyStep: {
			params: { $$strict: true, challenge: TOKEN_STRING, response: RESPONSE },
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<{ challenge: string; response: AuthenticationResponseJSON }>
			): Promise<SignInResult> {
				this.requirePasskeys();
				const { challenge, response } = ctx.params;
				const pending = await this.openChallenge(ctx, challenge, "totp");
				const attempt = await this.limiters.totp.hit(`totp:${pending.id}`);
				if (!attempt.allowed) {
					await this.closeChallenge(ctx, challenge, pending.user).catch(() => undefined);
					throw this.passkeyFailure("second-step", "limited");
				}
				const { user } = await this.usePasskey(
					ctx,
					response,
					"second-step",
					pending.user._id
				);
				await this.closeChallenge(ctx, challenge, pending.user);
				return this.startSession(ctx, user, `${pending.data.method}+passkey`);
			}
		}
	},

	methods: {
		/**
		 * One use of a passkey: the answer's challenge spent, the passkey found (and `userId`'s,
		 * when given), its owner allowed, the assertion verified, the counter recorded.
		 */
		async usePasskey(
			this: AuthThis,
			ctx: AuthContext,
			response: AuthenticationResponseJSON,
			purpose: ChallengeData["purpose"],
			userId?: string
		): Promise<{ user: UserRecord; userVerified: boolean }> {
			const operation = purpose === "sign-in" ? "sign-in" : "second-step";
			const challenge = await this.answeredChallenge(ctx, response, purpose);
			if (!challenge || (userId !== undefined && challenge.owner !== userId)) {
				throw this.passkeyFailure(operation, "challenge");
			}
			const passkey =
				typeof response.id === "string" ? await this.passkeys.findById(response.id) : null;
			if (!passkey || passkey.clonedAt !== null) throw this.passkeyFailure(operation);
			if (userId !== undefined && passkey.userId !== userId) {
				throw this.passkeyFailure(operation, "user");
			}
			const user = await this.passkeyOwner(passkey, response);
			const verdict = await verifyAuthentication(
				this.relyingParty,
				response,
				challenge.token,
				passkey
			);
			if (!verdict) throw this.passkeyFailure(operation);
			if (verdict.result === "cloned") return this.passkeyCloned(ctx, user, passkey);
			const { counter, userVerified } = verdict;
			if (
				!(await this.passkeys.recordUse(passkey._id, passkey.counter, counter, Date.now()))
			) {
				throw this.passkeyFailure(operation, "raced");
			}
			count(this.broker, METRIC, { operation, result: "valid" });
			ctx.emit<UserEventPayload & { passkeyId: string }>("auth.passkeyUsed", {
				userId: user._id,
				passkeyId: passkey._id
			});
			return { user, userVerified };
		},

		/** A stale counter: the passkey is marked and signs nobody in again. */
		async passkeyCloned(
			this: AuthThis,
			ctx: AuthContext,
			user: UserRecord,
			passkey: PasskeyRecord
		): Promise<never> {
			await this.passkeys.markCloned(passkey._id, Date.now());
			this.logger.warn(`Passkey of user ${user._id} answered with a stale counter.`);
			ctx.emit<UserEventPayload & { passkeyId: string }>("auth.passkeyCloned", {
				userId: user._id,
				passkeyId: passkey._id
			});
			throw this.passkeyFailure("sign-in", "cloned");
		},

		/** What an mfaRequired answer offers: TOTP, a recovery code, and a passkey if there is one. */
		async secondStepMethods(this: AuthThis, user: UserRecord): Promise<string[]> {
			const passkeys = this.passkeysOn ? await this.passkeys.listOfUser(user._id) : [];
			return ["totp", "recoveryCode", ...(passkeys.length > 0 ? ["passkey"] : [])];
		},

		async newPasskeyChallenge(
			this: AuthThis,
			ctx: AuthContext,
			owner: string,
			purpose: ChallengeData["purpose"]
		): Promise<string> {
			this.requirePasskeys();
			const made = await ctx.call<TokenEntity & { token: string }, object>(
				"tokens.generate",
				{
					type: TOKEN_TYPES.passkeyChallenge,
					owner,
					data: { purpose }
				}
			);
			return made.token;
		},

		/** The challenge an answer names, spent (once, on any node), if it is one of `purpose`. */
		async answeredChallenge(
			this: AuthThis,
			ctx: AuthContext,
			response: { response?: { clientDataJSON?: unknown } },
			purpose: ChallengeData["purpose"]
		): Promise<{ token: string; owner: string } | null> {
			const token = challengeOf(response);
			if (token === null) {
				throw fieldError(
					"response",
					"passkeyResponse",
					"The 'response' is not a passkey's answer."
				);
			}
			const entity = await ctx.call<TokenEntity | null, object>("tokens.consume", {
				type: TOKEN_TYPES.passkeyChallenge,
				token
			});
			if (!entity || (entity.data as ChallengeData | null)?.purpose !== purpose) return null;
			return { token, owner: entity.owner };
		},

		/** The account a passkey signs in: there, confirmed (when required), the one its handle names. */
		async passkeyOwner(
			this: AuthThis,
			passkey: PasskeyRecord,
			response: AuthenticationResponseJSON
		): Promise<UserRecord> {
			const user = await this.store.findById(passkey.userId);
			// Unconfirmed accounts sign in with nothing while confirmation is required (the default).
			if (!user || (this.settings.requireVerifiedEmail && !user.emailVerified)) {
				throw this.passkeyFailure("sign-in", "account");
			}
			const handle = response.response?.userHandle;
			const expected = Buffer.from(userHandleOf(this.passkeyHandleKey, user._id)).toString(
				"base64url"
			);
			if (handle !== undefined && handle !== expected) {
				throw this.passkeyFailure("sign-in", "user_handle");
			}
			return user;
		},

		/** Counts a refused ceremony and answers it: the same for every reason, to the caller. */
		passkeyFailure(this: AuthThis, operation: string, reason = "not_verified"): Error {
			count(this.broker, METRIC, { operation, result: reason });
			return operation === "register" ? passkeyNotVerified() : refused();
		},

		/** A credential that exists nowhere, the same for one login every time. */
		madeUpPasskey(this: AuthThis, login: string): PasskeyRecord {
			const id = Buffer.from(userHandleOf(this.passkeyHandleKey, `login:${login}`))
				.subarray(0, 16)
				.toString("base64url");
			return {
				_id: id,
				userId: "",
				name: "",
				publicKey: "",
				counter: 0,
				transports: ["internal", "hybrid"],
				deviceType: "multiDevice",
				backedUp: true,
				createdAt: 0,
				lastUsedAt: null,
				clonedAt: null
			};
		},

		/** Refuses when passkeys are off; in development, warns once about a doubtful relying party. */
		requirePasskeys(this: AuthThis): void {
			if (!this.passkeysOn) {
				throw passkeysUnavailable();
			}
			if (this.relyingPartyChecked) return;
			this.relyingPartyChecked = true;
			checkRelyingParty(this.relyingParty, process.env, message => this.logger.warn(message));
		},

		/** Beside the users, like the refresh families. */
		openPasskeyStore(this: AuthThis): Promise<PasskeyStore> {
			return this.openSideStore(passkeyStores);
		}
	}
});

export default PasskeysMixin;
