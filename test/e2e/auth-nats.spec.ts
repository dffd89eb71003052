/**
 * The life of an account again, with `tokens`, `auth` and `mail` each on its own node (broker) and a
 * caller on a fourth, all over the real NATS server; mail delivered to a real SMTP server.
 */
import type { ServiceBroker } from "moleculer";
import TokensService from "../../services/tokens/tokens.service";
import { type TokenEntity } from "../../lib/tokens/token-types";
import AuthService, {
	type AuthUser,
	type PublicUser,
	type SessionTokens,
	type SignInResult
} from "../../services/auth/auth.service";
import MailService from "../../services/mail.service";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../helpers/broker";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../helpers/nats";
import { linkIn, startSmtpServer, tokenOf, type TestSmtpServer } from "../helpers/smtp";
import { FAST_SCRYPT, PUBLIC_URL, nextMail, rejection } from "../helpers/auth";
import { later, expectRefused } from "../helpers/async";
import { base32Decode, hotp, totpStep } from "../../lib/auth/totp";

describeWithNats("auth over NATS (tokens, auth and mail on separate nodes)", () => {
	let tokensDir: string;
	let authDir: string;
	let smtp: TestSmtpServer;
	let nodes: ServiceBroker[];
	let caller: ServiceBroker;

	beforeAll(async () => {
		tokensDir = tempDataDir();
		authDir = tempDataDir();
		smtp = await startSmtpServer();
		const namespace = uniqueNamespace("auth-e2e");
		const node = (nodeID: string) =>
			createTestBroker({ namespace, nodeID, transporter: natsTransporter() });
		const tokensNode = node("tokens-node");
		tokensNode.createService(withSettings(TokensService, { dataDir: tokensDir }));
		const authNode = node("auth-node");
		authNode.createService(
			withSettings(AuthService, {
				dataDir: authDir,
				password: FAST_SCRYPT,
				publicUrl: PUBLIC_URL
			})
		);
		const mailNode = node("mail-node");
		mailNode.createService(withSettings(MailService, { smtpUrl: smtp.url }));
		caller = node("caller-node");
		nodes = [tokensNode, authNode, mailNode, caller];
		await Promise.all(nodes.map(n => n.start()));
		await caller.waitForServices(["tokens", "auth", "mail"], 10_000);
		await authNode.waitForServices(["tokens", "mail"], 10_000);
	});

	afterAll(async () => {
		await Promise.all((nodes ?? []).map(n => n.stop()));
		await smtp?.close();
		removeDir(tokensDir);
		removeDir(authDir);
	});

	it("runs every step of an account's life across the nodes", async () => {
		const call = <T>(action: string, params: object, user?: AuthUser) =>
			caller.call<T, object>(action, params, user ? { meta: { user } } : undefined);
		const resolve = async (token: string) =>
			(await call<{ user: AuthUser }>("auth.resolveAccessToken", { token })).user;
		const email = "bob@example.com";

		// Sign up; the mail node delivers the verification link over SMTP.
		const { user } = await call<{ user: PublicUser }>("auth.signUp", {
			username: "bob",
			email,
			password: "bob's first password"
		});
		const verifyMail = await nextMail(smtp, email, "Confirm");
		await call("auth.verifyEmail", {
			token: tokenOf(linkIn(verifyMail, "/verify-email")),
			password: "bob's first password"
		});

		// Sign in, refresh, then replay the rotated token: the family is revoked.
		const first = await call<SignInResult>("auth.signIn", {
			login: "BOB",
			password: "bob's first password"
		});
		expect(first.user).toMatchObject({ id: user.id, emailVerified: true });
		const second = await call<SessionTokens>("auth.refresh", {
			refreshToken: first.refreshToken
		});
		// A replay of the rotated token after the reuse interval.
		expect(
			await later(11_000, () =>
				rejection(call("auth.refresh", { refreshToken: first.refreshToken }))
			)
		).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
		await expectRefused(call("auth.refresh", { refreshToken: second.refreshToken }), 401);

		// Concurrent refreshes with one token, from the caller node: all get the same successor
		// (the reuse interval), so the session lives on.
		const racing = await call<SignInResult>("auth.signIn", {
			login: email,
			password: "bob's first password"
		});
		const race = await Promise.allSettled(
			Array.from({ length: 4 }, () =>
				call<SessionTokens>("auth.refresh", { refreshToken: racing.refreshToken })
			)
		);
		const successors = race.map(r =>
			r.status === "fulfilled" ? r.value.refreshToken : "refused"
		);
		expect(new Set(successors).size).toBe(1);
		expect(successors[0]).not.toBe("refused");

		// Forgot password → reset link → new password; the old one stops working.
		await call("auth.forgotPassword", { email });
		const resetMail = await nextMail(smtp, email, "Reset");
		await call("auth.resetPassword", {
			token: tokenOf(linkIn(resetMail, "/reset-password")),
			password: "bob's second password",
			confirmPassword: "bob's second password"
		});
		await expectRefused(
			call("auth.signIn", { login: "bob", password: "bob's first password" }),
			401,
			"INVALID_CREDENTIALS"
		);
		const third = await call<SignInResult>("auth.signIn", {
			login: "bob",
			password: "bob's second password"
		});
		const me = await resolve(third.accessToken);
		expect(me).toEqual({
			id: user.id,
			username: "bob",
			scopes: [],
			via: "jwt",
			session: expect.any(String)
		});

		// API key: created, used, listed, revoked.
		const created = await call<{ key: TokenEntity; token: string }>(
			"auth.createApiKey",
			{ name: "deploy" },
			me
		);
		await expect(call("auth.resolveApiKey", { key: created.token })).resolves.toMatchObject({
			user: { id: user.id, via: "api-key" }
		});
		const keys = await call<TokenEntity[]>("auth.listApiKeys", {}, me);
		expect(keys.map(k => k.name)).toEqual(["deploy"]);
		await call("auth.revokeApiKey", { id: created.key.id }, me);
		await expectRefused(call("auth.resolveApiKey", { key: created.token }), 401);

		// Sign out everywhere: refresh and access tokens of every session die.
		const out = await call<{ revoked: number }>("auth.signOutEverywhere", {}, me);
		expect(out.revoked).toBeGreaterThanOrEqual(1);
		await expectRefused(resolve(third.accessToken), 401);
		await expectRefused(call("auth.refresh", { refreshToken: third.refreshToken }), 401);
	});

	it("answers validation errors with 422 naming the field across the wire", async () => {
		const err = await rejection(
			caller.call("auth.signUp", { username: "x", email: "bad", password: "short-pw" })
		);
		expect(err).toMatchObject({ code: 422 });
		expect(
			((err as unknown as { data: { field: string }[] }).data ?? []).map(d => d.field).sort()
		).toEqual(["email", "password", "username"]);
		expect(JSON.stringify(err)).not.toContain("short-pw");
	});

	it("confirms an address and signs in with mailed codes across the nodes, counting wrong codes", async () => {
		const email = "cleo@example.com";
		const codeIn = (text: string) => /\b([0-9]{6})\b/.exec(text)![1];
		await caller.call("auth.signUp", { username: "cleo", email, password: "cleo's password" });
		const verifyCode = codeIn((await nextMail(smtp, email, "Confirm")).text);
		await expect(
			caller.call("auth.verifyEmailWithCode", {
				email,
				code: verifyCode,
				password: "cleo's password"
			})
		).resolves.toMatchObject({ passwordKept: true });
		await caller.call("auth.requestEmailCode", { email });
		const code = codeIn((await nextMail(smtp, email, "sign-in code")).text);
		const wrong = code === "000000" ? "000001" : "000000";
		await expectRefused(
			caller.call("auth.signInWithEmailCode", { email, code: wrong }),
			401,
			"INVALID_CODE"
		);
		const session = await caller.call<SignInResult, object>("auth.signInWithEmailCode", {
			email,
			code
		});
		expect(session.user).toMatchObject({ username: "cleo" });
		await expectRefused(caller.call("auth.signInWithEmailCode", { email, code }), 401);
	});

	it("turns TOTP on and signs in with a code across the nodes, never accepting it twice", async () => {
		const session = await caller.call<SignInResult, object>("auth.signInWithEmailCode", {
			email: "cleo@example.com",
			code: await (async () => {
				const before = smtp.messages.length;
				await caller.call("auth.requestEmailCode", { email: "cleo@example.com" });
				const mail = await smtp.waitFor(
					m =>
						smtp.messages.indexOf(m) >= before &&
						m.to.includes("cleo@example.com") &&
						m.subject.includes("sign-in code")
				);
				return /\b([0-9]{6})\b/.exec(mail.text)![1];
			})()
		});
		const { user } = await caller.call<{ user: AuthUser }, object>("auth.resolveAccessToken", {
			token: session.accessToken
		});
		const meta = { meta: { user } };
		const { secret } = await caller.call<{ secret: string }, object>(
			"auth.enrollTotp",
			{},
			meta
		);
		const key = base32Decode(secret);
		const step = totpStep(Date.now());
		await caller.call("auth.confirmTotp", { code: hotp(key, step) }, meta);
		const challenged = await caller.call<{ mfaRequired: boolean; challenge: string }, object>(
			"auth.signIn",
			{ login: "cleo", password: "cleo's password" }
		);
		expect(challenged.mfaRequired).toBe(true);
		const done = await caller.call<SignInResult, object>("auth.signInWithTotp", {
			challenge: challenged.challenge,
			code: hotp(key, step + 1)
		});
		expect(done.user).toMatchObject({ username: "cleo" });
		const again = await caller.call<{ challenge: string }, object>("auth.signIn", {
			login: "cleo",
			password: "cleo's password"
		});
		await expectRefused(
			caller.call("auth.signInWithTotp", {
				challenge: again.challenge,
				code: hotp(key, step + 1)
			}),
			401
		);
	});

	it("mail.send is public: callable from another node", async () => {
		await caller.call("mail.send", {
			to: "carol@example.com",
			subject: "Hello across nodes",
			text: "plain body"
		});
		const mail = await nextMail(smtp, "carol@example.com", "Hello across nodes");
		expect(mail.text.trim()).toBe("plain body");
	});
});
