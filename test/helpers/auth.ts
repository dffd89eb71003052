/**
 * The `tokens`, `auth` and `mail` services on one real broker, mail going over SMTP to a real test
 * server, plus the few steps most auth suites repeat (sign up and confirm the address, sign in).
 */
import { type BrokerOptions, type Context, type ServiceBroker } from "moleculer";
import TokensService from "../../services/tokens/tokens.service";
import AuthService, { type AuthUser, type SignInResult } from "../../services/auth/auth.service";
import MailService from "../../services/mail.service";
import type { ScryptParams } from "../../lib/auth/password";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "./broker";
import { linkIn, startSmtpServer, tokenOf, type ReceivedMail, type TestSmtpServer } from "./smtp";
import { rejection } from "./async";
export { rejection };

/** Cheap scrypt for tests about behaviour; one suite uses the production cost. */
export const FAST_SCRYPT: ScryptParams = { N: 2 ** 10, r: 8, p: 1 };
export const PUBLIC_URL = "http://app.test";

export interface RecordedEvent {
	name: string;
	payload: unknown;
}

export interface AuthStack {
	broker: ServiceBroker;
	smtp: TestSmtpServer;
	dataDir: string;
	events: RecordedEvent[];
	stop(): Promise<void>;
}

export async function startAuthStack(
	options: { auth?: Record<string, unknown>; broker?: Partial<BrokerOptions> } = {}
): Promise<AuthStack> {
	const dataDir = tempDataDir("moleculer-auth-");
	const smtp = await startSmtpServer();
	const events: RecordedEvent[] = [];
	const broker = createTestBroker(options.broker);
	broker.createService(withSettings(TokensService, { dataDir }));
	broker.createService(authService(options.auth)(dataDir));
	broker.createService(withSettings(MailService, { smtpUrl: smtp.url }));
	broker.createService({
		name: "event-recorder",
		events: {
			"auth.*"(ctx: Context) {
				events.push({ name: ctx.eventName!, payload: ctx.params });
			},
			"tokens.*"(ctx: Context) {
				events.push({ name: ctx.eventName!, payload: ctx.params });
			}
		}
	});
	await broker.start();
	return {
		broker,
		smtp,
		dataDir,
		events,
		async stop() {
			await broker.stop();
			await smtp.close();
			removeDir(dataDir);
		}
	};
}

/** The next mail to `address` whose subject contains `subject` and that was not seen before. */
export function nextMail(
	smtp: TestSmtpServer,
	address: string,
	subject: string,
	seen: Set<ReceivedMail> = new Set()
): Promise<ReceivedMail> {
	return smtp.waitFor(
		m =>
			!seen.has(m) &&
			m.to.some(to => to.toLowerCase() === address.toLowerCase()) &&
			m.subject.includes(subject)
	);
}

export interface Account {
	id: string;
	username: string;
	email: string;
	password: string;
}

/** Signs up, confirms the address with the mailed link and the password; returns the account. */
export async function createVerifiedAccount(
	stack: AuthStack,
	username: string,
	password = "a long enough password"
): Promise<Account> {
	const email = `${username.toLowerCase()}@example.com`;
	const { user } = await stack.broker.call<{ user: { id: string } }, object>("auth.signUp", {
		username,
		email,
		password
	});
	const mail = await nextMail(stack.smtp, email, "Confirm");
	// With the password: the one who signed up keeps it (without, confirming clears it).
	await stack.broker.call("auth.verifyEmail", {
		token: tokenOf(linkIn(mail, "/verify-email")),
		password
	});
	return { id: user.id, username, email, password };
}

export function signIn(broker: ServiceBroker, login: string, password: string) {
	return broker.call<SignInResult, object>("auth.signIn", { login, password });
}

/** meta.user for an access token, as the gateway would set it. */
export async function callerFor(broker: ServiceBroker, accessToken: string): Promise<AuthUser> {
	const { user } = await broker.call<{ user: AuthUser }, object>("auth.resolveAccessToken", {
		token: accessToken
	});
	return user;
}

/** `auth` for a gateway suite (startGateway's `services`): cheap scrypt, links under PUBLIC_URL. */
export function authService(settings: Record<string, unknown> = {}) {
	return (dataDir: string) =>
		withSettings(AuthService, {
			dataDir,
			password: FAST_SCRYPT,
			publicUrl: PUBLIC_URL,
			...settings
		});
}

/** A sign-in with a wrong password from the client at `ip`: the error it ends with. */
export function wrongSignIn(broker: ServiceBroker, login: string, ip: string) {
	return rejection(broker.call("auth.signIn", { login, password: "x" }, { meta: { ip } }));
}

/** Auth's attempt limits: at most this many per `window` seconds (15 minutes unless given). */
export function attemptLimits(
	max: { signIn: number; address: number; mail: number },
	window = 900
): Record<"signIn" | "address" | "mail", { maxAttempts: number; window: number }> {
	return {
		signIn: { maxAttempts: max.signIn, window },
		address: { maxAttempts: max.address, window },
		mail: { maxAttempts: max.mail, window }
	};
}
