/**
 * TOTP two-factor sign-in (RFC 6238, lib/auth/totp) with recovery codes (lib/auth/recovery-codes).
 * The secret is sealed with AES-256-GCM (lib/common/sealed-box, key from JWT_SECRET, bound to the
 * user id), never stored in clear; a code is never accepted twice (the user's last accepted step,
 * compare-and-set in the store); a challenge takes 5 wrong codes, an account 10 an hour.
 * See docs/accounts-and-sign-in.md, "TOTP".
 */
import { accountLimitKeys } from "../../../lib/auth/sign-in-attempts/attempt-limits";
import { type Context } from "moleculer";
import { renderSVG } from "uqr";
import { GIVEN_PASSWORD, TOKEN_STRING } from "../../../lib/auth/auth-params";
import {
	recentSignInRequired,
	tooManyAttempts,
	totpRequired,
	codeRequired,
	invalidCode,
	totpAlreadyEnabled,
	totpNotEnabled,
	totpNotPending
} from "../../../lib/auth/auth-errors";
import {
	base32Decode,
	base32Encode,
	matchingStep,
	newTotpSecret,
	otpauthUri
} from "../../../lib/auth/totp";
import { newRecoveryCodes, recoveryCodeHash } from "../../../lib/auth/recovery-codes";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import type { AuthUser, SignInResult } from "../../../lib/auth/auth-types";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthThis } from "../auth-internals";
import { CODE } from "./email-codes.mixin";

interface TotpCodeParams {
	code?: string;
	recoveryCode?: string;
	password?: string;
	challenge?: string;
}

const RECOVERY_CODE = { type: "string", min: 1, max: 64, optional: true } as const;

const TotpMixin = authMixin({
	actions: {
		/**
		 * Starts enrolment: a new secret, shown this once as base32, an otpauth:// URI and its QR code
		 * (SVG). Nothing changes at sign-in until `confirmTotp`.
		 */
		enrollTotp: {
			params: { $$strict: true, password: { ...GIVEN_PASSWORD, optional: true } },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<TotpCodeParams>) {
				const caller = this.requireSession(ctx, "Setting up TOTP");
				const user = await this.requireCallerRecord(ctx);
				if (user.totpEnabledAt != null) {
					throw totpAlreadyEnabled();
				}
				// A stolen access token alone must not add a factor its holder controls.
				await this.requireRecentSignIn(ctx, caller, user, ctx.params.password);
				const secret = newTotpSecret();
				await this.store.update(
					user._id,
					{
						totpSecret: this.totpBox.seal(base32Encode(secret), user._id),
						totpLastStep: null,
						recoveryCodes: []
					},
					Date.now()
				);
				const uri = otpauthUri(this.settings.totpIssuer, user.email, secret);
				return { secret: base32Encode(secret), otpauthUri: uri, qrSvg: renderSVG(uri) };
			}
		},

		/** Turns TOTP on with a first code; answers the 10 recovery codes, shown this once. */
		confirmTotp: {
			params: { $$strict: true, code: CODE },
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<TotpCodeParams>
			): Promise<{ enabled: true; recoveryCodes: string[] }> {
				const caller = this.requireSession(ctx, "Setting up TOTP");
				const user = await this.requireCallerRecord(ctx);
				if (user.totpEnabledAt != null || !user.totpSecret) {
					throw totpNotPending();
				}
				await this.acceptTotpCode(ctx, user, ctx.params.code!);
				const recoveryCodes = newRecoveryCodes();
				await this.store.update(
					user._id,
					{
						totpEnabledAt: Date.now(),
						recoveryCodes: recoveryCodes.map(c => recoveryCodeHash(this.recoveryKey, c))
					},
					Date.now()
				);
				// Sessions that never passed TOTP end; the owner hears of it by mail.
				await this.endOtherSessions(ctx, caller, "totp-enabled");
				this.noticeMailLater(ctx, user, "secondFactorAdded");
				return { enabled: true, recoveryCodes };
			}
		},

		/** Turns TOTP off, with a current code or the password. */
		disableTotp: {
			params: {
				$$strict: true,
				code: { ...CODE, optional: true },
				password: { ...GIVEN_PASSWORD, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<TotpCodeParams>): Promise<{ ok: true }> {
				this.requireSession(ctx, "Turning TOTP off");
				const user = await this.requireCallerRecord(ctx);
				if (user.totpEnabledAt == null) {
					throw totpNotEnabled();
				}
				const { code, password } = ctx.params;
				if (code != null) await this.acceptTotpCode(ctx, user, code);
				else if (password != null) await this.checkSignUpPassword(ctx, user, password);
				else {
					throw codeRequired();
				}
				await this.store.update(
					user._id,
					{
						totpSecret: null,
						totpEnabledAt: null,
						totpLastStep: null,
						recoveryCodes: []
					},
					Date.now()
				);
				return { ok: true };
			}
		},

		/** The second step of a sign-in with TOTP on: a current code, or one recovery code. */
		signInWithTotp: {
			params: {
				$$strict: true,
				challenge: TOKEN_STRING,
				code: { ...CODE, optional: true },
				recoveryCode: RECOVERY_CODE
			},
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<TotpCodeParams>): Promise<SignInResult> {
				const { challenge, code, recoveryCode } = ctx.params;
				const pending = await this.openChallenge(ctx, challenge!, "totp");
				const attempt = await this.limiters.totp.hit(`totp:${pending.id}`);
				if (!attempt.allowed) {
					// Locked: the challenge is spent; the password is needed again.
					await this.closeChallenge(ctx, challenge!, pending.user).catch(() => undefined);
					throw invalidCode();
				}
				if (recoveryCode !== undefined) {
					await this.acceptRecoveryCode(ctx, pending.user, recoveryCode);
				} else {
					await this.acceptTotpCode(ctx, pending.user, code ?? "");
				}
				await this.closeChallenge(ctx, challenge!, pending.user);
				return this.startSession(ctx, pending.user, `${pending.data.method}+totp`);
			}
		}
	},

	methods: {
		/**
		 * With TOTP on, only a session that passed it (one started after TOTP was on) makes, changes
		 * or rerolls keys.
		 */
		async requireTotpSession(this: AuthThis, caller: AuthUser, user: UserRecord) {
			if (user.totpEnabledAt == null) return;
			const session = caller.session && (await this.families.findById(caller.session));
			if (!session || session.createdAt < user.totpEnabledAt) {
				throw totpRequired();
			}
		},

		/**
		 * Adding a second factor needs a sign-in within `recentSignIn` seconds (the session's start,
		 * which refreshes keep) or the password now; else 403 RECENT_SIGN_IN_REQUIRED.
		 */
		async requireRecentSignIn(
			this: AuthThis,
			ctx: AuthContext,
			caller: AuthUser,
			user: UserRecord,
			password?: string
		) {
			// `!= null`: validation lets an optional field through as null.
			if (password != null) {
				await this.checkSignUpPassword(ctx, user, password);
				return;
			}
			const session = caller.session && (await this.families.findById(caller.session));
			if (session && Date.now() - session.createdAt <= this.settings.recentSignIn * 1000) {
				return;
			}
			throw recentSignInRequired();
		},

		/** A password reset by mail removes a factor enrolled within `resetRemovesFactorsWithin`. */
		async removeNewFactors(this: AuthThis, ctx: Context, user: UserRecord) {
			const within = this.settings.resetRemovesFactorsWithin * 1000;
			if (user.totpEnabledAt == null || within === 0) return;
			if (Date.now() - user.totpEnabledAt > within) return;
			await this.store.update(
				user._id,
				{ totpSecret: null, totpEnabledAt: null, totpLastStep: null, recoveryCodes: [] },
				Date.now()
			);
			this.noticeMailLater(ctx, user, "secondFactorRemovedByReset");
		},

		/** A code of the user's secret, current and never accepted before; else 401 (429 past 10/h). */
		async acceptTotpCode(this: AuthThis, ctx: AuthContext, user: UserRecord, code: string) {
			const hourly = await this.limiters.totpAccount.hit(accountLimitKeys.totp(user._id));
			if (!hourly.allowed) throw tooManyAttempts(hourly.retryAfterMs);
			const secret = user.totpSecret && this.totpSecretOf(user);
			const step = secret ? matchingStep(secret, code, Date.now()) : null;
			// The step is taken atomically: a replay, or two requests with one code, fail here.
			if (step === null || !(await this.store.advanceTotpStep(user._id, step))) {
				await this.recordAddressFailure(ctx);
				throw invalidCode();
			}
		},

		async acceptRecoveryCode(
			this: AuthThis,
			ctx: AuthContext,
			user: UserRecord,
			recoveryCode: string
		) {
			const hourly = await this.limiters.totpAccount.hit(accountLimitKeys.totp(user._id));
			if (!hourly.allowed) throw tooManyAttempts(hourly.retryAfterMs);
			const hash = recoveryCodeHash(this.recoveryKey, recoveryCode);
			if (!(await this.store.spendRecoveryCode(user._id, hash))) {
				await this.recordAddressFailure(ctx);
				throw invalidCode("recoveryCode", "The recovery code is wrong or used.");
			}
		},

		totpSecretOf(this: AuthThis, user: UserRecord): Buffer {
			return base32Decode(this.totpBox.open(user.totpSecret!, user._id));
		}
	}
});

export default TotpMixin;
