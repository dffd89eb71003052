/**
 * The whole life of an account on one real broker (tokens, auth, mail), every mail received by a
 * real SMTP server and every link followed from the received message.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AuthUser, PublicUser, SessionTokens } from "../../../services/auth/auth.service";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import { linkIn, tokenOf } from "../../helpers/smtp";
import {
	PUBLIC_URL,
	callerFor,
	nextMail,
	rejection,
	signIn,
	startAuthStack,
	type AuthStack
} from "../../helpers/auth";
import { later, expectRefused } from "../../helpers/async";

describe("the life of an account", () => {
	let stack: AuthStack;

	beforeAll(async () => {
		stack = await startAuthStack();
	});

	afterAll(async () => {
		await stack?.stop();
	});

	it("sign-up → mail → verify → sign-in → refresh → reuse → reset → API key → sign out everywhere", async () => {
		const { broker, smtp, events } = stack;
		const password = "first password, long enough";
		const newPassword = "second password, also long";
		const secrets: string[] = [password, newPassword];

		// Sign up: the answer is the user, never the hash.
		const { user } = await broker.call<{ user: PublicUser }, object>("auth.signUp", {
			username: "Alice.Liddell",
			email: "Alice@Example.com",
			password
		});
		// The address is kept as typed, but for the domain's case (lib/common/mailbox).
		expect(user).toEqual({
			id: expect.any(String),
			username: "Alice.Liddell",
			email: "Alice@example.com",
			emailVerified: false,
			createdAt: expect.any(String),
			updatedAt: expect.any(String)
		});

		// The verification mail arrives over SMTP with a link under PUBLIC_URL.
		const verification = await nextMail(smtp, "alice@example.com", "Confirm");
		expect(verification.to.map(a => a.toLowerCase())).toEqual(["alice@example.com"]);
		const verifyLink = linkIn(verification, "/verify-email");
		expect(verifyLink.startsWith(`${PUBLIC_URL}/verify-email?token=mtv_`)).toBe(true);
		expect(verification.html).toContain("/verify-email?token=");
		secrets.push(tokenOf(verifyLink));

		// Password sign-in waits for the confirmed address.
		await expectRefused(signIn(broker, "alice.liddell", password), 403, "EMAIL_NOT_VERIFIED");

		// Verify, showing the password so that it is kept: spends the token once.
		const verified = await broker.call<{ user: PublicUser; passwordKept: boolean }, object>(
			"auth.verifyEmail",
			{ token: tokenOf(verifyLink), password }
		);
		expect(verified.user).toMatchObject({ id: user.id, emailVerified: true });
		expect(verified.passwordKept).toBe(true);
		await expectRefused(
			broker.call("auth.verifyEmail", { token: tokenOf(verifyLink) }),
			400,
			"INVALID_OR_EXPIRED_TOKEN"
		);

		// Sign in with the e-mail address in another case.
		const first = await signIn(broker, "ALICE@example.COM", password);
		expect(first).toMatchObject({
			tokenType: "Bearer",
			expiresIn: 900,
			user: { id: user.id, emailVerified: true }
		});
		expect(first.refreshToken).toMatch(/^mtf_/);
		secrets.push(first.accessToken, first.refreshToken);
		const caller = await callerFor(broker, first.accessToken);
		expect(caller).toEqual({
			id: user.id,
			username: "Alice.Liddell",
			scopes: [],
			via: "jwt",
			session: expect.any(String)
		});
		expect(await broker.call("auth.me", {}, { meta: { user: caller } })).toMatchObject({
			id: user.id,
			email: "Alice@example.com"
		});

		// Refresh: a new pair; the old refresh token is spent.
		const second = await broker.call<SessionTokens, object>("auth.refresh", {
			refreshToken: first.refreshToken
		});
		expect(second.refreshToken).not.toBe(first.refreshToken);
		expect(await callerFor(broker, second.accessToken)).toMatchObject({ id: user.id });
		secrets.push(second.accessToken, second.refreshToken);

		// Within the reuse interval (10 s) the rotated token gets the same successor again.
		expect(
			await broker.call<SessionTokens, object>("auth.refresh", {
				refreshToken: first.refreshToken
			})
		).toMatchObject({ refreshToken: second.refreshToken });
		// After it, reuse of the rotated token is a replay: refused, and the family is revoked.
		expect(
			await later(11_000, () =>
				rejection(broker.call("auth.refresh", { refreshToken: first.refreshToken }))
			)
		).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
		await expectRefused(
			broker.call("auth.refresh", { refreshToken: second.refreshToken }),
			401,
			"INVALID_TOKEN"
		);
		expect(events).toContainEqual({
			name: "auth.refreshTokenReused",
			payload: { userId: user.id, family: expect.any(String) }
		});

		// Another session, to see the reset end it.
		const beforeReset = await signIn(broker, "alice.liddell", password);
		secrets.push(beforeReset.accessToken, beforeReset.refreshToken);

		// Forgot password → reset link by mail → new password.
		expect(await broker.call("auth.forgotPassword", { email: "alice@EXAMPLE.com" })).toEqual({
			ok: true
		});
		const resetMail = await nextMail(smtp, "alice@example.com", "Reset");
		const resetToken = tokenOf(linkIn(resetMail, "/reset-password"));
		secrets.push(resetToken);
		expect(
			await broker.call("auth.resetPassword", {
				token: resetToken,
				password: newPassword,
				confirmPassword: newPassword
			})
		).toEqual({ ok: true });
		await expectRefused(
			broker.call("auth.resetPassword", {
				token: resetToken,
				password: newPassword,
				confirmPassword: newPassword
			}),
			400,
			"INVALID_OR_EXPIRED_TOKEN"
		);
		// The reset ended every session: access and refresh tokens alike.
		await expectRefused(callerFor(broker, beforeReset.accessToken), 401, "INVALID_TOKEN");
		await expectRefused(
			broker.call("auth.refresh", { refreshToken: beforeReset.refreshToken }),
			401
		);
		await expectRefused(signIn(broker, "alice.liddell", password), 401, "INVALID_CREDENTIALS");
		expect(events).toContainEqual({
			name: "auth.passwordChanged",
			payload: { userId: user.id, reason: "reset" }
		});

		// Sign in with the new password.
		const third = await signIn(broker, "Alice.Liddell", newPassword);
		secrets.push(third.accessToken, third.refreshToken);
		const me: AuthUser = await callerFor(broker, third.accessToken);

		// API key: created (shown once), used, listed without the key, revoked.
		const created = await broker.call<{ key: TokenEntity; token: string }, object>(
			"auth.createApiKey",
			{ name: "CI", expiry: 3600 },
			{ meta: { user: me } }
		);
		expect(created.token).toMatch(/^mtk_/);
		expect(created.key).toMatchObject({ name: "CI", owner: user.id, type: "api-key" });
		expect(created.key).not.toHaveProperty("token");
		secrets.push(created.token);
		const viaKey = await broker.call<{ user: AuthUser }, object>("auth.resolveApiKey", {
			key: created.token
		});
		expect(viaKey.user).toEqual({
			id: user.id,
			username: "Alice.Liddell",
			scopes: [],
			via: "api-key"
		});
		const listed = await broker.call<TokenEntity[], object>(
			"auth.listApiKeys",
			{},
			{ meta: { user: me } }
		);
		expect(listed).toHaveLength(1);
		expect(listed[0]).toMatchObject({ id: created.key.id, name: "CI" });
		expect(JSON.stringify(listed)).not.toContain(created.token);
		expect(
			await broker.call("auth.revokeApiKey", { id: created.key.id }, { meta: { user: me } })
		).toEqual({ ok: true });
		await expectRefused(
			broker.call("auth.resolveApiKey", { key: created.token }),
			401,
			"INVALID_TOKEN"
		);

		// Sign out everywhere: refresh tokens removed, access tokens rejected.
		const fourth = await signIn(broker, "alice.liddell", newPassword);
		secrets.push(fourth.accessToken, fourth.refreshToken);
		const out = await broker.call<{ ok: true; revoked: number }, object>(
			"auth.signOutEverywhere",
			{},
			{ meta: { user: me } }
		);
		// API keys stay unless asked (includeApiKeys).
		expect(out).toEqual({ ok: true, revoked: 2, apiKeysRevoked: 0 });
		for (const session of [third, fourth]) {
			await expectRefused(callerFor(broker, session.accessToken), 401);
			await expectRefused(
				broker.call("auth.refresh", { refreshToken: session.refreshToken }),
				401
			);
		}
		// Signing in again right away works, even within the same second.
		const fifth = await signIn(broker, "alice.liddell", newPassword);
		expect(await callerFor(broker, fifth.accessToken)).toMatchObject({ id: user.id });

		// Events carried ids, never a password or token; nor do the data files hold one.
		const names = events.map(e => e.name);
		for (const name of [
			"auth.userCreated",
			"auth.emailVerified",
			"auth.signedIn",
			"auth.passwordChanged",
			"auth.apiKeyCreated",
			"auth.apiKeyRevoked",
			"auth.signedOutEverywhere"
		]) {
			expect(names).toContain(name);
		}
		const published = JSON.stringify(events);
		const files = readdirSync(stack.dataDir)
			.filter(f => f.endsWith(".db"))
			.map(f => readFileSync(join(stack.dataDir, f), "utf8"))
			.join("\n");
		for (const secret of secrets) {
			expect(published).not.toContain(secret);
			expect(files).not.toContain(secret);
		}
	});
});
