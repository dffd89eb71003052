/**
 * Addresses of `auth`: the link mails (sent after the action answered), link tokens spent, the
 * first proof of an address (which makes the prover the owner), and stored addresses checked at
 * start-up. Deleting accounts (also those never confirmed): account-deletion.mixin.
 */
import { TOKEN_TYPES } from "../../../lib/tokens/token-types";
import { Errors, type Context } from "moleculer";
import { parseMailbox } from "../../../lib/common/mailbox";
import { nextTokensCutoff } from "../../../lib/auth/jwt";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import { GIVEN_PASSWORD, MAX_TOKEN_LENGTH, TOKEN_STRING } from "../../../lib/auth/auth-params";
import { invalidLink, tooManyAttempts, wrongPassword } from "../../../lib/auth/auth-errors";
import { LINKS, linkMail, type LinkKind } from "../../../lib/auth/mail-links";
import { noticeMail, type NoticeKind } from "../../../lib/auth/notice-mails";
import type { PublicUser, UserEventPayload } from "../../../lib/auth/auth-types";
import type { SignInAnswer } from "../../../lib/auth/auth-types";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthThis, TokenParams, VerifyEmailParams } from "../auth-internals";
import { mailToAccount } from "./account-mail";

const AddressesMixin = authMixin({
	actions: {
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
				ctx: AuthContext<VerifyEmailParams>
			): Promise<{ user: PublicUser; passwordKept: boolean }> {
				const { token, password } = ctx.params;
				let shownFor: UserRecord | null = null;
				if (password !== undefined && token.length <= MAX_TOKEN_LENGTH) {
					// Checked before the link is spent: a mistyped password must not use it up.
					await this.checkAddress(ctx);
					const entity = await ctx.call<TokenEntity | null, object>("tokens.check", {
						type: TOKEN_TYPES.verification,
						token
					});
					const owner = entity && (await this.store.findById(entity.owner));
					if (owner && !owner.emailVerified) {
						shownFor = await this.checkSignUpPassword(ctx, owner, password);
					}
				}
				const user = await this.consumeLinkToken(ctx, TOKEN_TYPES.verification, token);
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
		resendVerification: mailToAccount("verification mail", async function (ctx, user) {
			if (user.emailVerified) return;
			await this.broker.call("tokens.removeByOwner", {
				owner: user._id,
				type: TOKEN_TYPES.verification
			});
			await this.sendLink(ctx, user, "verification");
		}),

		/** Mails a one-time sign-in link. Same answer for any address. */
		requestMagicLink: mailToAccount("magicLink mail", function (ctx, user) {
			return this.sendLink(ctx, user, "magicLink");
		}),

		/**
		 * Spends a magic link's token and signs in; the link proves the address, so it is confirmed.
		 * On an address proven for the first time, a password chosen before the proof is cleared.
		 */
		signInWithMagicLink: {
			params: { $$strict: true, token: TOKEN_STRING },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<TokenParams>): Promise<SignInAnswer> {
				const user = await this.consumeLinkToken(
					ctx,
					TOKEN_TYPES.magicLink,
					ctx.params.token
				);
				return this.completeSignIn(
					ctx,
					await this.proveAddress(ctx, user, false),
					"magic-link"
				);
			}
		}
	},

	methods: {
		/**
		 * The password chosen at sign-up, shown by whoever proves the address: counted against the
		 * account's sign-in budget; a wrong one is a 401 on `password`.
		 */
		async checkSignUpPassword(
			this: AuthThis,
			ctx: AuthContext,
			owner: UserRecord,
			password: string
		): Promise<UserRecord> {
			await this.checkAddress(ctx);
			const attempt = await this.limiters.signIn.hit(this.accountLimitKey(owner));
			if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterMs);
			if (!(await this.passwordMatches(password, owner.passwordHash))) {
				await this.recordAddressFailure(ctx);
				throw wrongPassword("password", 401);
			}
			await this.limiters.signIn.reset(this.accountLimitKey(owner));
			return owner;
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
			await this.checkAddress(ctx);
			const entity =
				token.length > MAX_TOKEN_LENGTH
					? null
					: await ctx.call<TokenEntity | null, object>("tokens.consume", { type, token });
			const user = entity && (await this.store.findById(entity.owner));
			if (!user) {
				await this.recordAddressFailure(ctx);
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
						tokensValidAfter: nextTokensCutoff(user.tokensValidAfter, now)
					};
			const updated = await this.store.update(user._id, changes, now);
			if (!updated) throw invalidLink();
			if (!passwordShown) {
				await this.revokeAllSessions(ctx, user._id, "address-proven");
				await ctx.call("tokens.removeByOwner", {
					owner: user._id,
					type: TOKEN_TYPES.apiKey
				});
			}
			ctx.emit<UserEventPayload>("auth.emailVerified", { userId: user._id });
			return updated;
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
				{
					type: spec.tokenType,
					owner: user._id,
					...(spec.expiry === undefined ? {} : { expiry: spec.expiry })
				},
				opts
			);
			const link = `${this.settings.publicUrl}${spec.path}?token=${encodeURIComponent(generated.token)}`;
			const lifetime = Math.round(
				(Date.parse(generated.expiresAt!) - Date.parse(generated.createdAt)) / 1000
			);
			// The verification mail carries a code too, for a reader on another device.
			const code =
				kind === "verification"
					? {
							code: await this.newCode(ctx, user),
							lifetimeSeconds: this.settings.codeTtl
						}
					: undefined;
			const mail = linkMail(kind, user.username, link, lifetime, code);
			// Only to an address that is one plain mailbox (see reportUnparsableAddresses).
			const to = parseMailbox(user.email);
			if (to === null) throw new Error("The stored address is not one plain mailbox");
			await this.handOverMail(ctx, { to, ...mail });
		},

		/** Tells the owner, by mail after the action answered, that a security setting changed. */
		noticeMailLater(this: AuthThis, ctx: Context, user: UserRecord, kind: NoticeKind): void {
			const to = parseMailbox(user.email);
			if (to === null) return;
			this.later(`${kind} mail`, () =>
				this.handOverMail(ctx, { to, ...noticeMail(kind, user.username) })
			);
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
		}
	}
});

export default AddressesMixin;
