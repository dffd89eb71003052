/**
 * One rule per test: validation, duplicates, the generic sign-in error, attempt limits, link tokens,
 * refresh rotation under concurrency, password changes and API keys. Real broker, real SMTP server.
 */
import type { Errors } from "moleculer";
import type {
	AuthUser,
	PublicUser,
	SessionTokens,
	SignInResult
} from "../../../services/auth/auth.service";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import { linkIn, tokenOf, type ReceivedMail } from "../../helpers/smtp";
import {
	callerFor,
	createVerifiedAccount,
	nextMail,
	rejection,
	signIn,
	startAuthStack,
	wrongSignIn,
	type AuthStack,
	attemptLimits
} from "../../helpers/auth";
import { later, expectRefused, passedElseRefused } from "../../helpers/async";

const MINUTE = 60_000;

function fieldsOf(err: Errors.MoleculerError): string[] {
	return ((err.data ?? []) as { field: string }[]).map(d => d.field).sort();
}

function publicShape(err: Errors.MoleculerError) {
	return { code: err.code, type: err.type, message: err.message, data: err.data };
}

let counter = 0;
/** A fresh username per test: the stack is shared by a describe block. */
function uniqueName(prefix: string): string {
	return `${prefix}${++counter}`;
}

describe("auth rules", () => {
	let stack: AuthStack;

	beforeAll(async () => {
		stack = await startAuthStack({
			auth: {
				limits: attemptLimits({ signIn: 5, address: 8, mail: 5 })
			}
		});
	});

	afterAll(async () => {
		await stack?.stop();
	});

	const call = <T = unknown>(action: string, params: object, meta?: object) =>
		stack.broker.call<T, object>(action, params, meta ? { meta } : undefined);
	/** Signs up a new, unconfirmed account named after `prefix`. */
	const signUpNew = async (prefix: string) => {
		const name = uniqueName(prefix);
		const email = `${name}@example.com`;
		await call("auth.signUp", { username: name, email, password: "a long enough password" });
		return { name, email };
	};

	describe("validation: 422 naming each bad field, never echoing it", () => {
		it("names every missing sign-up field", async () => {
			const err = await rejection(call("auth.signUp", {}));
			expect(err).toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
			expect(fieldsOf(err)).toEqual(["email", "password", "username"]);
		});

		it.each([
			["username", { username: "no spaces!" }],
			["username", { username: "ab" }],
			["username", { username: "x".repeat(33) }],
			["username", { username: 42 }],
			["email", { email: "not-an-address" }],
			["email", { email: `${"a".repeat(250)}@example.com` }],
			["password", { password: "Tiny-Pw9" }],
			["password", { password: "p".repeat(129) }]
		])("rejects a bad %s", async (field, bad) => {
			const params = {
				username: "valid_name",
				email: "valid@example.com",
				password: "a long enough password",
				...bad
			};
			const err = await rejection(call("auth.signUp", params));
			expect(err.code).toBe(422);
			expect(fieldsOf(err)).toEqual([field]);
			const value = (bad as Record<string, unknown>)[field];
			if (typeof value === "string" && value.length > 3) {
				expect(JSON.stringify(err)).not.toContain(value);
			}
		});

		it("rejects unknown fields by name", async () => {
			const err = await rejection(
				call("auth.signUp", {
					username: "valid_name",
					email: "valid@example.com",
					password: "a long enough password",
					emailVerified: true
				})
			);
			expect(err.code).toBe(422);
			expect(fieldsOf(err)).toEqual(["emailVerified"]);
		});

		it.each([
			["auth.signIn", { password: "x" }, ["login"]],
			["auth.signIn", { login: "", password: "" }, ["login", "password"]],
			["auth.verifyEmail", {}, ["token"]],
			["auth.verifyEmail", { token: 5 }, ["token"]],
			["auth.forgotPassword", { email: "nope" }, ["email"]],
			["auth.refresh", { refreshToken: ["x"] }, ["refreshToken"]],
			[
				"auth.resetPassword",
				{ token: "t", password: "short" },
				["confirmPassword", "password"]
			],
			[
				"auth.createApiKey",
				{ name: "", expiry: -1, scopes: "admin" },
				["expiry", "name", "scopes"]
			],
			[
				"mail.send",
				{ to: "x", subject: "a\r\nBcc: y@example.com", text: "" },
				["subject", "text", "to"]
			]
		])("%s %j → 422 naming %j", async (action, params, fields) => {
			const err = await rejection(call(action, params));
			expect(err.code).toBe(422);
			expect(fieldsOf(err)).toEqual(fields);
		});

		it("names confirmPassword when it differs, and leaves the reset token unspent", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("confirm"));
			await call("auth.forgotPassword", { email: account.email });
			const mail = await nextMail(stack.smtp, account.email, "Reset");
			const token = tokenOf(linkIn(mail, "/reset-password"));
			const err = await rejection(
				call("auth.resetPassword", {
					token,
					password: "the new password 1",
					confirmPassword: "the new password 2"
				})
			);
			expect(err.code).toBe(422);
			expect(fieldsOf(err)).toEqual(["confirmPassword"]);
			expect(JSON.stringify(err)).not.toContain("the new password");
			await expect(
				call("auth.resetPassword", {
					token,
					password: "the new password 1",
					confirmPassword: "the new password 1"
				})
			).resolves.toEqual({ ok: true });
		});
	});

	describe("duplicates", () => {
		it("409 for a username or an address taken in another case, without saying which", async () => {
			const name = uniqueName("Dup");
			await call("auth.signUp", {
				username: name,
				email: `${name}@Example.com`,
				password: "a long enough password"
			});
			const sameName = await rejection(
				call("auth.signUp", {
					username: name.toUpperCase(),
					email: `other-${name}@example.com`,
					password: "a long enough password"
				})
			);
			const sameEmail = await rejection(
				call("auth.signUp", {
					username: `${name}_other`,
					email: `${name.toUpperCase()}@EXAMPLE.COM`,
					password: "a long enough password"
				})
			);
			expect(sameName).toMatchObject({ code: 409, type: "ALREADY_EXISTS" });
			expect(publicShape(sameEmail)).toEqual(publicShape(sameName));
		});

		it("of concurrent sign-ups with one address, exactly one creates an account", async () => {
			const base = uniqueName("race");
			const attempts = await Promise.allSettled(
				Array.from({ length: 8 }, (_, i) =>
					call<{ user: PublicUser }>("auth.signUp", {
						username: `${base}_${i}`,
						email: i % 2 ? `${base}@example.com` : `${base.toUpperCase()}@Example.COM`,
						password: "a long enough password"
					})
				)
			);
			const created = passedElseRefused(attempts, 409, "ALREADY_EXISTS");
			expect(created).toHaveLength(1);
			// Exactly one account: only the winner's username can ever sign in.
			const winner = created[0].user;
			await expect(
				call("auth.requestMagicLink", { email: `${base}@example.com` })
			).resolves.toEqual({ ok: true });
			const mail = await nextMail(stack.smtp, `${base}@example.com`, "sign-in link");
			const session = await call<SignInResult>("auth.signInWithMagicLink", {
				token: tokenOf(linkIn(mail, "/magic-link"))
			});
			expect(session.user.id).toBe(winner.id);
		});

		it("of concurrent sign-ups with one username, exactly one creates an account", async () => {
			const name = uniqueName("samename");
			const attempts = await Promise.allSettled(
				Array.from({ length: 6 }, (_, i) =>
					call("auth.signUp", {
						username: i % 2 ? name : name.toUpperCase(),
						email: `${name}-${i}@example.com`,
						password: "a long enough password"
					})
				)
			);
			expect(attempts.filter(a => a.status === "fulfilled")).toHaveLength(1);
		});
	});

	describe("sign-in", () => {
		it("gives one generic error for an unknown login and a wrong password", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("generic"));
			const unknownName = await rejection(signIn(stack.broker, "nobody_here", "whatever pw"));
			const unknownMail = await rejection(
				signIn(stack.broker, "nobody@example.com", "whatever pw")
			);
			const wrongPassword = await rejection(
				signIn(stack.broker, account.username, "not the password")
			);
			expect(wrongPassword).toMatchObject({ code: 401, type: "INVALID_CREDENTIALS" });
			expect(publicShape(unknownName)).toEqual(publicShape(wrongPassword));
			expect(publicShape(unknownMail)).toEqual(publicShape(wrongPassword));
		});

		it("does not tell an unconfirmed account apart when the password is wrong", async () => {
			const { name } = await signUpNew("unconfirmed");
			await expectRefused(
				signIn(stack.broker, name, "wrong password"),
				401,
				"INVALID_CREDENTIALS"
			);
		});

		it("429 after 5 attempts per login within 15 minutes, even with the right password", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("limited"));
			for (let i = 0; i < 5; i++) {
				await expectRefused(signIn(stack.broker, account.username, `wrong ${i}`), 401);
			}
			const limited = await rejection(
				signIn(stack.broker, account.username, account.password)
			);
			expect(limited).toMatchObject({ code: 429, type: "TOO_MANY_ATTEMPTS" });
			expect((limited.data as { retryAfter: number }).retryAfter).toBeGreaterThan(14 * 60);
			// Another login is not affected...
			const other = await createVerifiedAccount(stack, uniqueName("unaffected"));
			await expect(
				signIn(stack.broker, other.username, other.password)
			).resolves.toBeTruthy();
			// ...an unknown login is limited alike (a 429 reveals nothing)...
			for (let i = 0; i < 5; i++) await rejection(signIn(stack.broker, "ghost_user", "x"));
			await expectRefused(signIn(stack.broker, "ghost_user", "x"), 429);
			// ...and after the window the right password works again.
			await later(15 * MINUTE + 1000, async () => {
				await expect(
					signIn(stack.broker, account.username, account.password)
				).resolves.toMatchObject({ tokenType: "Bearer" });
			});
		});

		it("counts concurrent attempts as they start: of 10 at once, 5 are checked and 5 refused", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("burst"));
			const results = await Promise.allSettled(
				Array.from({ length: 10 }, () => signIn(stack.broker, account.username, "wrong!"))
			);
			const codes = results.map(r => (r as PromiseRejectedResult).reason.code).sort();
			expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
		});

		it("limits failures per client address across logins", async () => {
			const ip = "203.0.113.7";
			for (let i = 0; i < 8; i++) {
				expect(await wrongSignIn(stack.broker, `spray${i}`, ip)).toMatchObject({
					code: 401
				});
			}
			expect(await wrongSignIn(stack.broker, "spray-next", ip)).toMatchObject({
				code: 429,
				type: "TOO_MANY_ATTEMPTS"
			});
			// Link tokens from that address too.
			await expectRefused(call("auth.verifyEmail", { token: "mtv_guess" }, { ip }), 429);
			// Another address is fine.
			expect(await wrongSignIn(stack.broker, "spray-next", "203.0.113.8")).toMatchObject({
				code: 401
			});
		});
	});

	describe("mails: same answer whether or not the address has an account", () => {
		it.each([
			["auth.forgotPassword", "Reset"],
			["auth.requestMagicLink", "sign-in link"],
			["auth.resendVerification", "Confirm"]
		])("%s", async (action, subject) => {
			const { name } = await signUpNew("mailer");
			const signUpMail = await nextMail(stack.smtp, `${name}@example.com`, "Confirm");
			const seen = new Set<ReceivedMail>([signUpMail]);

			const known = await call(action, { email: `${name}@EXAMPLE.com` });
			const unknown = await call(action, { email: `nobody-${name}@example.com` });
			expect(unknown).toEqual(known);
			expect(known).toEqual({ ok: true });
			await nextMail(stack.smtp, `${name}@example.com`, subject, seen);
			// Give a stray mail to the unknown address time to arrive, then make sure none did.
			await new Promise(resolve => setTimeout(resolve, 200));
			expect(stack.smtp.messages.some(m => m.to.includes(`nobody-${name}@example.com`))).toBe(
				false
			);
		});

		it("429 after 5 requests per address, known or unknown alike", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("flood"));
			for (const email of [account.email, `nobody-${account.username}@example.com`]) {
				for (let i = 0; i < 5; i++) {
					await expect(call("auth.forgotPassword", { email })).resolves.toEqual({
						ok: true
					});
				}
				await expectRefused(
					call("auth.forgotPassword", { email }),
					429,
					"TOO_MANY_ATTEMPTS"
				);
			}
		});

		it("a resent verification link works and the earlier one does not", async () => {
			const { email } = await signUpNew("resend");
			const firstMail = await nextMail(stack.smtp, email, "Confirm");
			await call("auth.resendVerification", { email });
			const secondMail = await nextMail(stack.smtp, email, "Confirm", new Set([firstMail]));
			await expectRefused(
				call("auth.verifyEmail", { token: tokenOf(linkIn(firstMail, "/verify-email")) }),
				400,
				"INVALID_OR_EXPIRED_TOKEN"
			);
			await expect(
				call("auth.verifyEmail", { token: tokenOf(linkIn(secondMail, "/verify-email")) })
			).resolves.toMatchObject({ user: { emailVerified: true } });
		});

		it("a magic link signs in once, and confirms the address", async () => {
			const { name, email } = await signUpNew("magic");
			await call("auth.requestMagicLink", { email });
			const mail = await nextMail(stack.smtp, email, "sign-in link");
			const link = linkIn(mail, "/magic-link");
			const session = await call<SignInResult>("auth.signInWithMagicLink", {
				token: tokenOf(link)
			});
			expect(session.user).toMatchObject({ username: name, emailVerified: true });
			expect(await callerFor(stack.broker, session.accessToken)).toMatchObject({
				username: name
			});
			await expectRefused(
				call("auth.signInWithMagicLink", { token: tokenOf(link) }),
				400,
				"INVALID_OR_EXPIRED_TOKEN"
			);
		});
	});

	describe("link tokens: expired, used, wrong-type and malformed all give one error", () => {
		it("400 INVALID_OR_EXPIRED_TOKEN, identical in every case", async () => {
			const { email } = await signUpNew("links");
			const verifyMail = await nextMail(stack.smtp, email, "Confirm");
			const verifyToken = tokenOf(linkIn(verifyMail, "/verify-email"));
			await call("auth.requestMagicLink", { email });
			const magicToken = tokenOf(
				linkIn(await nextMail(stack.smtp, email, "sign-in"), "/magic-link")
			);

			const errors: Errors.MoleculerError[] = [];
			// Expired: the verification link lives 24 hours.
			errors.push(
				await later(24 * 3600 * 1000 + 1000, () =>
					rejection(call("auth.verifyEmail", { token: verifyToken }))
				)
			);
			// Wrong type: a magic-link token offered as a verification token (and not spent by it).
			errors.push(await rejection(call("auth.verifyEmail", { token: magicToken })));
			errors.push(
				await rejection(
					call("auth.resetPassword", {
						token: magicToken,
						password: "a new long password",
						confirmPassword: "a new long password"
					})
				)
			);
			// Malformed, in several ways.
			for (const token of ["garbage", "mtv_", `mtv_${"A".repeat(36)}`, "x".repeat(600)]) {
				errors.push(await rejection(call("auth.verifyEmail", { token })));
			}
			// Used.
			await call("auth.verifyEmail", { token: verifyToken }).catch(() => undefined);
			await call("auth.signInWithMagicLink", { token: magicToken });
			errors.push(await rejection(call("auth.signInWithMagicLink", { token: magicToken })));

			const expected = {
				code: 400,
				type: "INVALID_OR_EXPIRED_TOKEN",
				message: errors[0].message,
				data: errors[0].data
			};
			expect(expected.code).toBe(400);
			for (const err of errors) expect(publicShape(err)).toEqual(expected);
		});
	});

	describe("refresh tokens", () => {
		/** The refresh-token reuse detections recorded for a user. */
		const reuseEvents = (userId: string) =>
			stack.events.filter(
				e =>
					e.name === "auth.refreshTokenReused" &&
					(e.payload as { userId: string }).userId === userId
			);

		/** Runs `fn` with the auth service's reuse interval set to `seconds`. */
		async function withReuseInterval<T>(seconds: number, fn: () => Promise<T>): Promise<T> {
			const auth = stack.broker.getLocalService("auth") as unknown as {
				settings: { refreshReuseInterval: number };
			};
			const saved = auth.settings.refreshReuseInterval;
			auth.settings.refreshReuseInterval = seconds;
			try {
				return await fn();
			} finally {
				auth.settings.refreshReuseInterval = saved;
			}
		}

		it("gives 20 concurrent refreshes of one token the same successor and keeps the session", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("tabs"));
			const session = await signIn(stack.broker, account.username, account.password);
			const results = await Promise.all(
				Array.from({ length: 20 }, () =>
					call<SessionTokens>("auth.refresh", { refreshToken: session.refreshToken })
				)
			);
			const successors = new Set(results.map(r => r.refreshToken));
			expect(successors.size).toBe(1);
			const [successor] = successors;
			expect(successor).not.toBe(session.refreshToken);
			for (const r of results) {
				await expect(callerFor(stack.broker, r.accessToken)).resolves.toMatchObject({
					id: account.id
				});
			}
			expect(reuseEvents(account.id)).toHaveLength(0);
			// One live family: the successor rotates on, and its parent is then a replay.
			const next = await call<SessionTokens>("auth.refresh", { refreshToken: successor });
			expect(next.refreshToken).not.toBe(successor);
			await expectRefused(call("auth.refresh", { refreshToken: session.refreshToken }), 401);
			await expectRefused(call("auth.refresh", { refreshToken: next.refreshToken }), 401);
		});

		it("still detects a replay of the parent after the reuse interval", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("latereplay"));
			const session = await signIn(stack.broker, account.username, account.password);
			const next = await call<SessionTokens>("auth.refresh", {
				refreshToken: session.refreshToken
			});
			expect(
				await later(10_001, () =>
					rejection(call("auth.refresh", { refreshToken: session.refreshToken }))
				)
			).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
			await expectRefused(call("auth.refresh", { refreshToken: next.refreshToken }), 401);
			expect(reuseEvents(account.id)).toHaveLength(1);
		});

		it("keeps no plaintext successor: the family holds it sealed, and only for the interval", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("sealed"));
			const session = await signIn(stack.broker, account.username, account.password);
			const next = await call<SessionTokens>("auth.refresh", {
				refreshToken: session.refreshToken
			});
			const auth = stack.broker.getLocalService("auth") as unknown as {
				families: {
					findByFingerprint(f: string): Promise<Record<string, unknown> | null>;
					clearSuccessorsBefore(cutoff: number): Promise<number>;
				};
			};
			const { fingerprintOf } = await import("../../../lib/auth/store/refresh-family-store");
			const family = await auth.families.findByFingerprint(fingerprintOf(next.refreshToken));
			expect(typeof family!.successor).toBe("string");
			expect(JSON.stringify(family)).not.toContain(next.refreshToken);
			expect(JSON.stringify(family)).not.toContain(next.refreshToken.slice(4));
			await auth.families.clearSuccessorsBefore(Date.now() + 1);
			expect(
				(await auth.families.findByFingerprint(fingerprintOf(next.refreshToken)))!.successor
			).toBeNull();
		});

		it("with the reuse interval off, of concurrent refreshes exactly one wins; the rest count as reuse", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("refreshrace"));
			const session = await signIn(stack.broker, account.username, account.password);
			const results = await withReuseInterval(0, () =>
				Promise.allSettled(
					Array.from({ length: 6 }, () =>
						call<SessionTokens>("auth.refresh", { refreshToken: session.refreshToken })
					)
				)
			);
			const winners = passedElseRefused(results, 401, "INVALID_TOKEN");
			expect(winners).toHaveLength(1);
			// The losers revoked the family: the winner's new refresh token is dead too, exactly as
			// if the winner had finished before the replays arrived. Its access token names the
			// revoked session (its `sid`), so it is refused too.
			const winner = winners[0];
			await expect(callerFor(stack.broker, winner.accessToken)).rejects.toMatchObject({
				code: 401
			});
			await expectRefused(call("auth.refresh", { refreshToken: winner.refreshToken }), 401);
			expect(reuseEvents(account.id)).toHaveLength(1);
			// Other sessions of the user are not touched.
			const other = await signIn(stack.broker, account.username, account.password);
			await expect(
				call("auth.refresh", { refreshToken: other.refreshToken })
			).resolves.toBeTruthy();
		});

		it("rotates many times; each token works once", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("chain"));
			let tokens: SessionTokens = await signIn(
				stack.broker,
				account.username,
				account.password
			);
			const seen = new Set<string>([tokens.refreshToken]);
			for (let i = 0; i < 5; i++) {
				tokens = await call<SessionTokens>("auth.refresh", {
					refreshToken: tokens.refreshToken
				});
				expect(seen.has(tokens.refreshToken)).toBe(false);
				seen.add(tokens.refreshToken);
			}
			await expect(callerFor(stack.broker, tokens.accessToken)).resolves.toMatchObject({
				id: account.id
			});
		});

		it("an expired refresh token is refused without being taken for reuse", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("expired"));
			const session = await signIn(stack.broker, account.username, account.password);
			const err = await later(30 * 24 * 3600 * 1000 + 1000, () =>
				rejection(call("auth.refresh", { refreshToken: session.refreshToken }))
			);
			expect(err).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
			expect(
				stack.events.some(
					e =>
						e.name === "auth.refreshTokenReused" &&
						(e.payload as { userId: string }).userId === account.id
				)
			).toBe(false);
		});

		it("sign-out ends the session; unknown tokens are fine to sign out", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("signout"));
			const session = await signIn(stack.broker, account.username, account.password);
			const refreshed = await call<SessionTokens>("auth.refresh", {
				refreshToken: session.refreshToken
			});
			await expect(
				call("auth.signOut", { refreshToken: refreshed.refreshToken })
			).resolves.toEqual({ ok: true });
			await expectRefused(
				call("auth.refresh", { refreshToken: refreshed.refreshToken }),
				401
			);
			await expect(call("auth.signOut", { refreshToken: "mtf_unknown" })).resolves.toEqual({
				ok: true
			});
		});

		it.each([["garbage"], ["mtf_" + "A".repeat(36)], ["x".repeat(1000)]])(
			"refuses %s with 401 INVALID_TOKEN",
			async refreshToken => {
				await expectRefused(call("auth.refresh", { refreshToken }), 401, "INVALID_TOKEN");
			}
		);
	});

	describe("access tokens", () => {
		it("are refused once expired (15 minutes) or when garbage", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("jwt"));
			const session = await signIn(stack.broker, account.username, account.password);
			await expect(callerFor(stack.broker, session.accessToken)).resolves.toBeTruthy();
			expect(
				await later(15 * MINUTE + 1000, () =>
					rejection(callerFor(stack.broker, session.accessToken))
				)
			).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
			for (const token of ["garbage", session.accessToken.slice(0, -2) + "xx"]) {
				await expectRefused(callerFor(stack.broker, token), 401, "INVALID_TOKEN");
			}
		});

		it("sign-out everywhere rejects every token issued before it, even within one second", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("samesecond"));
			const realNow = Date.now;
			// One frozen instant in the middle of a second: every step below happens "at once".
			const frozen = Math.floor(realNow() / 1000) * 1000 + 1500;
			Date.now = () => frozen;
			try {
				for (let round = 0; round < 3; round++) {
					const session = await signIn(stack.broker, account.username, account.password);
					const me = await callerFor(stack.broker, session.accessToken);
					await call("auth.signOutEverywhere", {}, { user: me });
					await expectRefused(
						callerFor(stack.broker, session.accessToken),
						401,
						"INVALID_TOKEN"
					);
				}
				const after = await signIn(stack.broker, account.username, account.password);
				await expect(callerFor(stack.broker, after.accessToken)).resolves.toMatchObject({
					id: account.id
				});
			} finally {
				Date.now = realNow;
			}
		});

		it("signed-in actions answer 401 UNAUTHORIZED without meta.user", async () => {
			for (const action of [
				"auth.me",
				"auth.signOutEverywhere",
				"auth.listApiKeys",
				"auth.changePassword",
				"auth.createApiKey",
				"auth.revokeApiKey"
			]) {
				const params =
					action === "auth.changePassword"
						? { currentPassword: "x", newPassword: "a long new password" }
						: action === "auth.createApiKey"
							? { name: "k" }
							: action === "auth.revokeApiKey"
								? { id: "x" }
								: {};
				await expectRefused(call(action, params), 401, "UNAUTHORIZED");
			}
		});
	});

	describe("change password", () => {
		it("needs the current password and a session; then every session ends", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("changer"));
			const session = await signIn(stack.broker, account.username, account.password);
			const me = await callerFor(stack.broker, session.accessToken);
			const change = (currentPassword: string, user: AuthUser = me) =>
				call(
					"auth.changePassword",
					{ currentPassword, newPassword: "a brand new password" },
					{ user }
				);
			await expectRefused(change("not my password"), 403, "INVALID_CREDENTIALS");
			await expectRefused(
				change(account.password, { ...me, via: "api-key" }),
				403,
				"SESSION_REQUIRED"
			);
			await expect(change(account.password)).resolves.toEqual({ ok: true });
			await expectRefused(callerFor(stack.broker, session.accessToken), 401);
			await expectRefused(call("auth.refresh", { refreshToken: session.refreshToken }), 401);
			await expectRefused(signIn(stack.broker, account.username, account.password), 401);
			await expect(
				signIn(stack.broker, account.username, "a brand new password")
			).resolves.toBeTruthy();
		});
	});

	describe("API keys", () => {
		it("carry at most the owner's scopes", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("scoped"));
			const session = await signIn(stack.broker, account.username, account.password);
			const me = await callerFor(stack.broker, session.accessToken);
			expect(
				await rejection(
					call(
						"auth.createApiKey",
						{ name: "admin key", scopes: ["admin"] },
						{ user: me }
					)
				)
			).toMatchObject({ code: 403, type: "SCOPE_NOT_ALLOWED", data: { scopes: ["admin"] } });

			await call("auth.setUserScopes", { userId: account.id, scopes: ["read", "write"] });
			expect(await callerFor(stack.broker, session.accessToken)).toMatchObject({
				scopes: ["read", "write"]
			});
			const { token } = await call<{ token: string }>(
				"auth.createApiKey",
				{ name: "reader", scopes: ["read"] },
				{ user: me }
			);
			await expect(call("auth.resolveApiKey", { key: token })).resolves.toMatchObject({
				user: { id: account.id, scopes: ["read"], via: "api-key" }
			});
			// Taking the scope from the user takes it from their keys.
			await call("auth.setUserScopes", { userId: account.id, scopes: [] });
			await expect(call("auth.resolveApiKey", { key: token })).resolves.toMatchObject({
				user: { scopes: [] }
			});
			// An API key cannot mint API keys.
			await expectRefused(
				call("auth.createApiKey", { name: "k" }, { user: { ...me, via: "api-key" } }),
				403,
				"SESSION_REQUIRED"
			);
		});

		it("expire when asked to, and only their owner can revoke them", async () => {
			const owner = await createVerifiedAccount(stack, uniqueName("keyowner"));
			const other = await createVerifiedAccount(stack, uniqueName("keyother"));
			const ownerMe = await callerFor(
				stack.broker,
				(await signIn(stack.broker, owner.username, owner.password)).accessToken
			);
			const otherMe = await callerFor(
				stack.broker,
				(await signIn(stack.broker, other.username, other.password)).accessToken
			);
			const created = await call<{ key: TokenEntity; token: string }>(
				"auth.createApiKey",
				{ name: "short-lived", expiry: 60 },
				{ user: ownerMe }
			);
			await expectRefused(
				call("auth.revokeApiKey", { id: created.key.id }, { user: otherMe }),
				404,
				"NOT_FOUND"
			);
			await expectRefused(
				call("auth.revokeApiKey", { id: "no-such-key" }, { user: ownerMe }),
				404,
				"NOT_FOUND"
			);
			await expect(call("auth.resolveApiKey", { key: created.token })).resolves.toBeTruthy();
			expect(
				await later(61_000, () =>
					rejection(call("auth.resolveApiKey", { key: created.token }))
				)
			).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
			expect(await call<TokenEntity[]>("auth.listApiKeys", {}, { user: otherMe })).toEqual(
				[]
			);
		});

		it("a refresh token's id cannot be revoked as an API key", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("notakey"));
			const session = await signIn(stack.broker, account.username, account.password);
			const me = await callerFor(stack.broker, session.accessToken);
			const [refresh] = await call<TokenEntity[]>("tokens.listByOwner", {
				owner: account.id,
				type: "refresh"
			});
			await expectRefused(call("auth.revokeApiKey", { id: refresh.id }, { user: me }), 404);
			await expect(
				call("auth.refresh", { refreshToken: session.refreshToken })
			).resolves.toBeTruthy();
		});
	});
});
