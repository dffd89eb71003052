/**
 * E-mailed codes of `auth`, for users on another device than their mail and apps that cannot open
 * links: sign-in by code, and e-mail verification by the code in the verification mail. A code is
 * a `tokens` code (services/tokens/token-codes.mixin) bound to the address; see docs/accounts-and-sign-in.md, "Codes".
 *
 * Two budgets bound the guessing, both per address and both counted when an attempt starts, so
 * concurrent guesses cannot slip past: one code takes AUTH_CODE_ATTEMPTS submissions (3), then it is
 * dead; a new code starts that count again, but not the hourly one (AUTH_CODE_ATTEMPTS_PER_HOUR,
 * 10), which no number of new codes resets.
 */
import { type Context } from "moleculer";
import { codeLimitKey } from "../../../lib/auth/sign-in-attempts/attempt-limits";
import { TOKEN_TYPES, type TokenEntity } from "../../../lib/tokens/token-types";
import { parseMailbox } from "../../../lib/common/mailbox";
import { emailKeyOf, type UserRecord } from "../../../lib/auth/store/user-store";
import { EMAIL, GIVEN_PASSWORD } from "../../../lib/auth/auth-params";
import { tooManyAttempts, invalidCode } from "../../../lib/auth/auth-errors";
import { codeMail, type CodeKind } from "../../../lib/auth/code-mails";
import type { PublicUser } from "../../../lib/auth/auth-types";
import type { SignInAnswer } from "../../../lib/auth/auth-types";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthThis, EmailCodeParams } from "../auth-internals";
import { mailToAccount } from "../accounts/account-mail";

/** Any shape: a malformed code is just a wrong one (never a validation error echoing it). */
export const CODE = { type: "string", min: 1, max: 32 } as const;

const CodesMixin = authMixin({
	actions: {
		/** Mails a sign-in code. Same answer for any address. */
		requestEmailCode: mailToAccount("sign-in code mail", function (ctx, user) {
			return this.mailCode(ctx, user, "signIn");
		}),

		/** Spends a mailed code and signs in; the code proves the address, as a magic link does. */
		signInWithEmailCode: {
			params: { $$strict: true, email: EMAIL, code: CODE },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<EmailCodeParams>): Promise<SignInAnswer> {
				const user = await this.spendEmailCode(ctx, ctx.params.email, ctx.params.code);
				return this.completeSignIn(
					ctx,
					await this.proveAddress(ctx, user, false),
					"email-code"
				);
			}
		},

		/**
		 * Confirms the address with the code of the verification mail (or any code mailed to it). As
		 * with the link, the sign-up password survives only when it is given here too.
		 */
		verifyEmailWithCode: {
			params: {
				$$strict: true,
				email: EMAIL,
				code: CODE,
				password: { ...GIVEN_PASSWORD, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<EmailCodeParams>
			): Promise<{ user: PublicUser; passwordKept: boolean }> {
				const { email, code, password } = ctx.params;
				const owner = await this.store.findByEmailKey(emailKeyOf(email));
				// Checked before the code is spent: a mistyped password must not use it up.
				const shown =
					password !== undefined && owner && !owner.emailVerified
						? await this.checkSignUpPassword(ctx, owner, password)
						: null;
				const user = await this.spendEmailCode(ctx, email, code);
				const passwordShown =
					shown?._id === user._id && shown.passwordHash === user.passwordHash;
				const proven = await this.proveAddress(ctx, user, passwordShown);
				return {
					user: this.toPublicUser(proven),
					passwordKept: proven.passwordHash !== null
				};
			}
		}
	},

	methods: {
		/**
		 * A new code for the user's address, mailed (after the action answered). It replaces their
		 * last one and gets a fresh count of submissions, but not a fresh hourly budget.
		 */
		async mailCode(this: AuthThis, ctx: Context, user: UserRecord, kind: CodeKind) {
			const to = parseMailbox(user.email);
			if (to === null) throw new Error("The stored address is not one plain mailbox");
			const code = await this.newCode(ctx, user);
			const mail = codeMail(kind, user.username, code, this.settings.codeTtl);
			await this.handOverMail(ctx, { to, ...mail });
		},

		/** A new code for the user's address (it replaces their last one), with fresh submissions. */
		async newCode(this: AuthThis, ctx: Context, user: UserRecord): Promise<string> {
			const made = await this.broker.call<TokenEntity & { code: string }, object>(
				"tokens.generateCode",
				{
					type: TOKEN_TYPES.emailCode,
					owner: user._id,
					scope: emailKeyOf(user.email),
					expiry: this.settings.codeTtl
				},
				{ requestID: ctx.requestID ?? undefined }
			);
			await this.limiters.codeAttempts.reset(codeLimitKey(user.email));
			return made.code;
		},

		/**
		 * Spends the code mailed to `email`: its owner, or one 401 for a wrong, expired, spent or
		 * dead code and an address without an account alike; 429 past the hourly budget.
		 */
		async spendEmailCode(
			this: AuthThis,
			ctx: AuthContext,
			email: string,
			code: string
		): Promise<UserRecord> {
			await this.checkAddress(ctx);
			const key = codeLimitKey(email);
			const hourly = await this.limiters.codeHourly.hit(key);
			if (!hourly.allowed) throw tooManyAttempts(hourly.retryAfterMs);
			const user = await this.store.findByEmailKey(emailKeyOf(email));
			const attempt = await this.limiters.codeAttempts.hit(key);
			// The same calls whether the address has an account or not: `tokens` counts a miss
			// against the client's lookup budget either way, so its 429 (or its timing) never tells.
			const owner = user?._id ?? NO_ACCOUNT;
			const spent = attempt.allowed
				? await ctx.call<TokenEntity | null, object>("tokens.consumeCode", {
						type: TOKEN_TYPES.emailCode,
						scope: emailKeyOf(email),
						code,
						owner
					})
				: null;
			if (!user || !spent) {
				await this.recordAddressFailure(ctx);
				// Out of submissions: the code is dead, even if the next guess were right.
				if ((await this.limiters.codeAttempts.remaining(key)) === 0) {
					await ctx.call("tokens.removeByOwner", { owner, type: TOKEN_TYPES.emailCode });
				}
				throw invalidCode();
			}
			await this.limiters.codeAttempts.reset(key);
			return user;
		}
	}
});

/** The owner asked for when an address has no account: no token is ever issued to it. */
const NO_ACCOUNT = "00000000-0000-0000-0000-000000000000";

export default CodesMixin;
