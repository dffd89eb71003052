/**
 * The `mail` service (SMTP and outbox) and what reaches the logs: never a body, a link, a token or a
 * password, with every service logging at debug level.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import MailService from "../../../services/mail.service";
import TokensService from "../../../services/tokens/tokens.service";
import AuthService, {
	type SessionTokens,
	type SignInResult
} from "../../../services/auth/auth.service";
import {
	createTestBroker,
	removeDir,
	startService,
	tempDataDir,
	withSettings
} from "../../helpers/broker";
import { linkIn, startSmtpServer, tokenOf } from "../../helpers/smtp";
import { FAST_SCRYPT, PUBLIC_URL, nextMail, rejection } from "../../helpers/auth";
import { later } from "../../helpers/async";

describe("mail service", () => {
	describe("without SMTP_URL: the outbox", () => {
		let dataDir: string;
		let broker: ServiceBroker;

		beforeEach(async () => {
			dataDir = tempDataDir();
			broker = await startService(MailService, { smtpUrl: null, dataDir });
		});

		afterEach(async () => {
			await broker.stop();
			removeDir(dataDir);
		});

		it("writes each message as an .eml file under <dataDir>/outbox, readable only by its owner", async () => {
			const link = `${PUBLIC_URL}/verify-email?token=mtv_example`;
			const res = await broker.call<{ messageId: string; transport: string }, object>(
				"mail.send",
				{
					to: "dana@example.com",
					subject: "Confirm your e-mail address",
					text: `Confirm: ${link}`,
					html: `<a href="${link}">Confirm</a>`
				}
			);
			expect(res).toMatchObject({ transport: "outbox", messageId: expect.any(String) });
			const outbox = join(dataDir, "outbox");
			const files = readdirSync(outbox);
			expect(files).toHaveLength(1);
			expect(files[0]).toMatch(/\.eml$/);
			const file = join(outbox, files[0]);
			expect(statSync(file).mode & 0o777).toBe(0o600);
			const eml = readFileSync(file, "utf8");
			expect(eml).toContain("To: dana@example.com");
			expect(eml).toContain("From: no-reply@localhost");
			expect(eml).toContain("Subject: Confirm your e-mail address");
			expect(eml).toContain(res.messageId);
			// Quoted-printable may fold the line; the link is there once unfolded.
			expect(eml.replace(/=\r?\n/g, "").replace(/=3D/g, "=")).toContain(link);
		});
	});

	describe("with SMTP_URL", () => {
		it("delivers over SMTP and reports a failing server as 502 MAIL_NOT_SENT without the message", async () => {
			const smtp = await startSmtpServer();
			const broker = createTestBroker();
			broker.createService(
				withSettings(MailService, { smtpUrl: smtp.url, from: "auth@app.test" })
			);
			await broker.start();
			try {
				await broker.call("mail.send", {
					to: "erin@example.com",
					subject: "Über SMTP",
					text: "Grüße — a body with non-ASCII text and a long line ".repeat(3)
				});
				const mail = await nextMail(smtp, "erin@example.com", "Über SMTP");
				expect(mail.from).toBe("auth@app.test");
				expect(mail.text).toContain("Grüße — a body");

				await smtp.close();
				const err = await rejection(
					broker.call("mail.send", {
						to: "erin@example.com",
						subject: "Lost",
						text: "secret body mtv_should_not_leak"
					})
				);
				expect(err).toMatchObject({ code: 502, type: "MAIL_NOT_SENT" });
				expect(JSON.stringify(err)).not.toContain("mtv_should_not_leak");
			} finally {
				await broker.stop();
			}
		});
	});
});

describe("auth with a mail server that is down", () => {
	it("still creates the account and answers forgotPassword the same way", async () => {
		const dataDir = tempDataDir();
		const smtp = await startSmtpServer();
		await smtp.close(); // A port nobody listens on any more.
		const broker = createTestBroker();
		broker.createService(withSettings(TokensService, { dataDir }));
		broker.createService(withSettings(AuthService, { dataDir, password: FAST_SCRYPT }));
		broker.createService(withSettings(MailService, { smtpUrl: smtp.url }));
		await broker.start();
		try {
			const { user } = await broker.call<{ user: { username: string } }, object>(
				"auth.signUp",
				{
					username: "frank",
					email: "frank@example.com",
					password: "a long enough password"
				}
			);
			expect(user.username).toBe("frank");
			await expect(
				broker.call("auth.forgotPassword", { email: "frank@example.com" })
			).resolves.toEqual({ ok: true });
		} finally {
			await broker.stop();
			removeDir(dataDir);
		}
	});
});

describe("logs", () => {
	it("never contain a password, a token, a link or a mail body, even at debug level", async () => {
		const lines: string[] = [];
		const methods = ["log", "info", "warn", "error", "debug"] as const;
		const spies = methods.map(m =>
			jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
				lines.push(args.map(String).join(" "));
			})
		);
		const dataDir = tempDataDir();
		const smtp = await startSmtpServer();
		const broker = createTestBroker({
			logger: { type: "Console", options: { colors: false, formatter: "full" } },
			logLevel: "debug"
		});
		broker.createService(withSettings(TokensService, { dataDir }));
		broker.createService(
			withSettings(AuthService, { dataDir, password: FAST_SCRYPT, publicUrl: PUBLIC_URL })
		);
		broker.createService(withSettings(MailService, { smtpUrl: smtp.url }));
		const secrets: string[] = ["a long enough password", "another long password"];
		try {
			await broker.start();
			const email = "gina@example.com";
			await broker.call("auth.signUp", {
				username: "gina",
				email,
				password: secrets[0]
			});
			const verifyMail = await nextMail(smtp, email, "Confirm");
			const verifyLink = linkIn(verifyMail, "/verify-email");
			secrets.push(verifyLink, tokenOf(verifyLink), verifyMail.text.split("\n")[0]);
			await broker.call("auth.verifyEmail", {
				token: tokenOf(verifyLink),
				password: secrets[0]
			});
			await rejection(broker.call("auth.verifyEmail", { token: tokenOf(verifyLink) }));
			const session = await broker.call<SignInResult, object>("auth.signIn", {
				login: "gina",
				password: secrets[0]
			});
			secrets.push(session.accessToken, session.refreshToken);
			await rejection(
				broker.call("auth.signIn", { login: "gina", password: "wrong guess!" })
			);
			const next = await broker.call<SessionTokens, object>("auth.refresh", {
				refreshToken: session.refreshToken
			});
			secrets.push(next.refreshToken);
			// Reuse (after the reuse interval): logged as a warning, by ids only.
			await later(11_000, () =>
				rejection(broker.call("auth.refresh", { refreshToken: session.refreshToken }))
			);
			await broker.call("auth.forgotPassword", { email });
			const resetLink = linkIn(await nextMail(smtp, email, "Reset"), "/reset-password");
			secrets.push(resetLink, tokenOf(resetLink));
			await rejection(
				broker.call("auth.resetPassword", {
					token: tokenOf(resetLink),
					password: secrets[1],
					confirmPassword: "does not match at all"
				})
			);
			await broker.call("auth.resetPassword", {
				token: tokenOf(resetLink),
				password: secrets[1],
				confirmPassword: secrets[1]
			});
		} finally {
			await broker.stop();
			await smtp.close();
			removeDir(dataDir);
			for (const spy of spies) spy.mockRestore();
		}
		const log = lines.join("\n");
		// The capture works: the broker did log, the reuse warning among it.
		expect(log).toContain("Refresh token reuse");
		for (const secret of secrets) expect(log).not.toContain(secret);
		expect(log).not.toContain("does not match at all");
	});
});
