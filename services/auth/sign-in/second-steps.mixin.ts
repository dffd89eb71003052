/**
 * The steps between "the password is right" and a session (seed 002's verify-otp): with TOTP on,
 * a TOTP code (services/auth/sign-in/totp.mixin); else, with AUTH_VERIFY_NEW_DEVICES=true, a code mailed
 * when the password comes from a device not seen before for that user. Either answers a challenge
 * (a `tokens` token, 5 minutes) that the second request spends. See docs/accounts-and-sign-in.md, "Second steps".
 *
 * A device is remembered by a device token (a `tokens` token, 90 days, returned once or set as a
 * cookie) together with a digest of the User-Agent it was confirmed from: never by address alone.
 */
import { createHash } from "node:crypto";
import { type Context } from "moleculer";
import { TOKEN_TYPES, type TokenEntity } from "../../../lib/tokens/token-types";
import { TOKEN_STRING } from "../../../lib/auth/auth-params";
import { invalidToken } from "../../../lib/auth/auth-errors";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import type { SignInAnswer, SignInResult } from "../../../lib/auth/auth-types";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthThis } from "../auth-internals";
import { CODE } from "./email-codes.mixin";
import { count } from "../../../lib/broker/project-metrics";

interface ChallengeData {
	purpose: "device" | "totp";
	/** Digest of the User-Agent the password came from. */
	agent: string;
	/** How the first step signed in ("password", "magic-link", "email-code"). */
	method: string;
	[key: string]: unknown;
}

export function agentDigest(userAgent: string | undefined): string {
	return createHash("sha256")
		.update(userAgent ?? "")
		.digest("base64url");
}

const SecondStepsMixin = authMixin({
	actions: {
		/** Completes a sign-in from a new device with the mailed code; remembers the device. */
		verifyDevice: {
			params: { $$strict: true, challenge: TOKEN_STRING, code: CODE },
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<{ challenge: string; code: string }>
			): Promise<SignInResult & { deviceToken: string }> {
				const pending = await this.openChallenge(ctx, ctx.params.challenge, "device");
				await this.spendEmailCode(ctx, pending.user.email, ctx.params.code);
				await this.closeChallenge(ctx, ctx.params.challenge, pending.user);
				const device = await ctx.call<TokenEntity & { token: string }, object>(
					"tokens.generate",
					{
						type: TOKEN_TYPES.device,
						owner: pending.user._id,
						data: { agent: pending.data.agent }
					}
				);
				const session = await this.startSession(ctx, pending.user, pending.data.method);
				return { ...session, deviceToken: device.token };
			}
		}
	},

	methods: {
		/**
		 * After the first factor: a TOTP challenge when the user has TOTP on; a new-device challenge
		 * for a password sign-in from an unknown device when that check is on; else the session.
		 */
		async completeSignIn(
			this: AuthThis,
			ctx: AuthContext,
			user: UserRecord,
			method: string,
			deviceToken?: string
		): Promise<SignInAnswer> {
			this.refuseLocked(user);
			const challenged = () =>
				count(this.broker, "mtk.auth.sign_ins.total", { method, result: "challenged" });
			if (user.totpEnabledAt != null) {
				challenged();
				return {
					mfaRequired: true,
					challenge: await this.issueChallenge(ctx, user, "totp", method),
					methods: await this.secondStepMethods(user)
				};
			}
			if (
				method === "password" &&
				this.settings.verifyNewDevices &&
				!(await this.knownDevice(ctx, user, deviceToken))
			) {
				challenged();
				const challenge = await this.issueChallenge(ctx, user, "device", method);
				this.later("new-device code mail", () => this.mailCode(ctx, user, "newDevice"));
				return { verificationRequired: true, challenge };
			}
			return this.startSession(ctx, user, method);
		},

		/** A device token of this user, confirmed from this User-Agent. */
		async knownDevice(
			this: AuthThis,
			ctx: AuthContext,
			user: UserRecord,
			deviceToken?: string
		): Promise<boolean> {
			if (!deviceToken) return false;
			const device = await ctx.call<TokenEntity | null, object>("tokens.check", {
				type: TOKEN_TYPES.device,
				token: deviceToken,
				owner: user._id,
				isUsed: true
			});
			return device !== null && device.data?.agent === agentDigest(ctx.meta.userAgent);
		},

		async issueChallenge(
			this: AuthThis,
			ctx: AuthContext,
			user: UserRecord,
			purpose: ChallengeData["purpose"],
			method: string
		): Promise<string> {
			const data: ChallengeData = { purpose, agent: agentDigest(ctx.meta.userAgent), method };
			const made = await ctx.call<TokenEntity & { token: string }, object>(
				"tokens.generate",
				{
					type: TOKEN_TYPES.challenge,
					owner: user._id,
					data
				}
			);
			return made.token;
		},

		/** A live challenge of this purpose and its user, without spending it; else 401. */
		async openChallenge(
			this: AuthThis,
			ctx: AuthContext,
			challenge: string,
			purpose: ChallengeData["purpose"]
		): Promise<{ id: string; user: UserRecord; data: ChallengeData }> {
			await this.checkAddress(ctx);
			const entity = await ctx.call<TokenEntity | null, object>("tokens.check", {
				type: TOKEN_TYPES.challenge,
				token: challenge
			});
			const data = entity?.data as ChallengeData | undefined;
			const user =
				entity && data?.purpose === purpose && (await this.store.findById(entity.owner));
			if (!entity || !data || !user) {
				await this.recordAddressFailure(ctx);
				throw invalidToken();
			}
			return { id: entity.id, user, data };
		},

		/** Spends the challenge: of concurrent completions, one goes on. */
		async closeChallenge(
			this: AuthThis,
			ctx: Context,
			challenge: string,
			user: UserRecord
		): Promise<void> {
			const spent = await ctx.call<TokenEntity | null, object>("tokens.consume", {
				type: TOKEN_TYPES.challenge,
				token: challenge,
				owner: user._id
			});
			if (!spent) throw invalidToken();
		}
	}
});

export default SecondStepsMixin;
