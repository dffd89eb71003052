/**
 * The security review's findings inside `auth` and `tokens`, each as the reviewer's attack on a
 * real broker with mail over real SMTP: account takeover before sign-up, API keys surviving
 * recovery, starved password hashing, timing, IPv6 clients, limits and key management by keys.
 */
import type { Service } from "moleculer";
import type { AuthUser, SignInResult } from "../../../services/auth/auth.service";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import type { UserRecord, UserStore } from "../../../lib/auth/store/user-store";
import { linkIn, tokenOf } from "../../helpers/smtp";
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

const PASSWORD = "the owner's own password";
const ATTACKER_PASSWORD = "the attacker's password";
const DAY = 86_400_000;

let counter = 0;
const uniqueName = (prefix: string) => `${prefix}${++counter}`;

type AuthInternals = Service & {
	store: UserStore;
	removeExpiredUnconfirmed(): Promise<number>;
	reportUnparsableAddresses(): Promise<void>;
};

describe("security review: auth and tokens", () => {
	let stack: AuthStack;
	const call = <T = unknown>(action: string, params: object, meta?: object) =>
		stack.broker.call<T, object>(action, params, meta ? { meta } : undefined);
	const auth = () => stack.broker.getLocalService("auth") as unknown as AuthInternals;

	beforeAll(async () => {
		stack = await startAuthStack({
			auth: {
				// Unconfirmed accounts may sign in: the strongest setting for an attacker.
				requireVerifiedEmail: false,
				maxApiKeys: 5,
				limits: attemptLimits({ signIn: 5, address: 8, mail: 50 })
			}
		});
	});

	afterAll(async () => {
		await stack?.stop();
	});

	/** The attacker signs up with the victim's address, signs in and makes an API key. */
	async function preHijack(name: string) {
		const email = `${name}@victim.example`;
		await call("auth.signUp", { username: name, email, password: ATTACKER_PASSWORD });
		const session = await signIn(stack.broker, name, ATTACKER_PASSWORD);
		const caller = await callerFor(stack.broker, session.accessToken);
		const { token: apiKey } = await call<{ token: string }>(
			"auth.createApiKey",
			{ name: "attacker" },
			{ user: caller }
		);
		return { email, session, apiKey };
	}

	async function expectAttackerLockedOut(
		name: string,
		hijack: Awaited<ReturnType<typeof preHijack>>
	) {
		await expectRefused(
			signIn(stack.broker, name, ATTACKER_PASSWORD),
			401,
			"INVALID_CREDENTIALS"
		);
		await expectRefused(callerFor(stack.broker, hijack.session.accessToken), 401);
		await expectRefused(
			call("auth.refresh", { refreshToken: hijack.session.refreshToken }),
			401
		);
		await expectRefused(call("auth.resolveApiKey", { key: hijack.apiKey }), 401);
	}

	describe("2. account takeover before the owner signs up", () => {
		it("the owner's magic link clears the attacker's password and ends what it opened", async () => {
			const name = uniqueName("victim");
			const hijack = await preHijack(name);
			// The owner's own sign-up is refused (409), so they ask for a magic link.
			await expectRefused(
				call("auth.signUp", {
					username: `${name}x`,
					email: hijack.email,
					password: PASSWORD
				}),
				409
			);
			await call("auth.requestMagicLink", { email: hijack.email });
			const mail = await nextMail(stack.smtp, hijack.email, "sign-in link");
			const session = await call<SignInResult>("auth.signInWithMagicLink", {
				token: tokenOf(linkIn(mail, "/magic-link"))
			});
			expect(session.user.emailVerified).toBe(true);
			await expectAttackerLockedOut(name, hijack);
			// The owner's session works; a second magic link on the now proven address keeps things.
			await expect(callerFor(stack.broker, session.accessToken)).resolves.toMatchObject({
				username: name
			});
		});

		it("confirming the unsolicited mail without the password clears it too", async () => {
			const name = uniqueName("victim");
			const seen = new Set(stack.smtp.messages);
			const hijack = await preHijack(name);
			const mail = await nextMail(stack.smtp, hijack.email, "Confirm", seen);
			const verified = await call<{ passwordKept: boolean }>("auth.verifyEmail", {
				token: tokenOf(linkIn(mail, "/verify-email"))
			});
			expect(verified.passwordKept).toBe(false);
			await expectAttackerLockedOut(name, hijack);
		});

		it("the one who signed up keeps the password by showing it; a wrong one does not spend the link", async () => {
			const name = uniqueName("owner");
			const email = `${name}@example.com`;
			const seen = new Set(stack.smtp.messages);
			await call("auth.signUp", { username: name, email, password: PASSWORD });
			const token = tokenOf(
				linkIn(await nextMail(stack.smtp, email, "Confirm", seen), "/verify-email")
			);
			expect(
				await rejection(call("auth.verifyEmail", { token, password: "not the password" }))
			).toMatchObject({
				code: 401,
				type: "INVALID_CREDENTIALS",
				data: { field: "password" }
			});
			const verified = await call<{ passwordKept: boolean }>("auth.verifyEmail", {
				token,
				password: PASSWORD
			});
			expect(verified.passwordKept).toBe(true);
			await expect(signIn(stack.broker, name, PASSWORD)).resolves.toMatchObject({
				tokenType: "Bearer"
			});
		});

		it("unconfirmed accounts expire after 7 days and free their username and address", async () => {
			const name = uniqueName("squatter");
			const email = `${name}@victim.example`;
			await call("auth.signUp", { username: name, email, password: ATTACKER_PASSWORD });
			await expectRefused(
				call("auth.signUp", { username: name, email, password: PASSWORD }),
				409
			);
			await later(7 * DAY + 1000, async () => {
				// At sign-up: the stale account gives way.
				await expect(
					call("auth.signUp", { username: name, email, password: PASSWORD })
				).resolves.toMatchObject({ user: { username: name } });
			});
			await expectRefused(signIn(stack.broker, name, ATTACKER_PASSWORD), 401);
			// And in the nightly cleanup.
			const other = uniqueName("squatter");
			await call("auth.signUp", {
				username: other,
				email: `${other}@x.example`,
				password: PASSWORD
			});
			const removed = await later(7 * DAY + 1000, () => auth().removeExpiredUnconfirmed());
			expect(removed).toBeGreaterThanOrEqual(1);
			expect(await auth().store.findByUsernameKey(other)).toBeNull();
			expect(stack.events).toContainEqual({
				name: "auth.userDeleted",
				payload: expect.objectContaining({ reason: "unconfirmed" })
			});
		});
	});

	describe("3. recovery revokes API keys", () => {
		async function accountWithKey() {
			const account = await createVerifiedAccount(stack, uniqueName("keyed"), PASSWORD);
			const session = await signIn(stack.broker, account.username, PASSWORD);
			const caller = await callerFor(stack.broker, session.accessToken);
			const { token } = await call<{ token: string }>(
				"auth.createApiKey",
				{ name: "k" },
				{ user: caller }
			);
			return { account, caller, key: token };
		}

		async function resetPassword(email: string, extra: object = {}) {
			const seen = new Set(stack.smtp.messages);
			await call("auth.forgotPassword", { email });
			const mail = await nextMail(stack.smtp, email, "Reset", seen);
			const password = "a brand new password";
			await call("auth.resetPassword", {
				token: tokenOf(linkIn(mail, "/reset-password")),
				password,
				confirmPassword: password,
				...extra
			});
		}

		it("a password reset revokes every API key", async () => {
			const { account, key } = await accountWithKey();
			await resetPassword(account.email);
			await expectRefused(call("auth.resolveApiKey", { key }), 401);
		});

		it("unless the user keeps them (keepApiKeys)", async () => {
			const { account, key } = await accountWithKey();
			await resetPassword(account.email, { keepApiKeys: true });
			await expect(call("auth.resolveApiKey", { key })).resolves.toBeTruthy();
		});

		it("sign-out everywhere keeps keys by default and revokes them with includeApiKeys", async () => {
			const { account, key } = await accountWithKey();
			const first = await call<{ apiKeysRevoked: number }>(
				"auth.signOutEverywhere",
				{},
				{
					user: await callerFor(
						stack.broker,
						(await signIn(stack.broker, account.username, PASSWORD)).accessToken
					)
				}
			);
			expect(first.apiKeysRevoked).toBe(0);
			await expect(call("auth.resolveApiKey", { key })).resolves.toBeTruthy();
			const session = await later(1500, () =>
				signIn(stack.broker, account.username, PASSWORD)
			);
			const caller = await later(1500, () => callerFor(stack.broker, session.accessToken));
			const second = await later(1500, () =>
				call<{ apiKeysRevoked: number }>(
					"auth.signOutEverywhere",
					{ includeApiKeys: true },
					{ user: caller }
				)
			);
			expect(second.apiKeysRevoked).toBe(1);
			await expectRefused(call("auth.resolveApiKey", { key }), 401);
		});
	});

	describe("4. stored addresses that are not one mailbox", () => {
		it("are reported at start-up by id, never changed", async () => {
			const bad: UserRecord = {
				_id: "legacy-user",
				username: "legacy",
				usernameKey: "legacy",
				email: "a@corp.example,b@evil.example",
				emailKey: "a@corp.example,b@evil.example",
				passwordHash: null,
				emailVerified: true,
				scopes: [],
				tokensValidAfter: 0,
				createdAt: Date.now(),
				updatedAt: Date.now()
			};
			await auth().store.insert(bad);
			const warn = jest.spyOn(auth().logger, "warn");
			try {
				await auth().reportUnparsableAddresses();
				const lines = warn.mock.calls.map(args => args.join(" "));
				expect(lines.some(l => l.includes("legacy-user"))).toBe(true);
				expect(lines.join("\n")).not.toContain("evil.example");
			} finally {
				warn.mockRestore();
			}
			expect((await auth().store.findById("legacy-user"))!.email).toBe(bad.email);
		});
	});

	describe("7. mail requests answer before any work", () => {
		it.each(["auth.forgotPassword", "auth.requestMagicLink", "auth.resendVerification"])(
			"%s calls nothing before it answers, whether or not the account exists",
			async action => {
				const name = uniqueName("timing");
				const email = `${name}@example.com`;
				await call("auth.signUp", { username: name, email, password: PASSWORD });
				await new Promise(r => setTimeout(r, 50));
				const calls: string[] = [];
				const realCall = stack.broker.call.bind(stack.broker);
				const spy = jest.spyOn(stack.broker, "call").mockImplementation(((
					name: string,
					...rest: unknown[]
				) => {
					calls.push(name);
					return (realCall as (...a: unknown[]) => unknown)(name, ...rest);
				}) as never);
				try {
					for (const address of [email, `nobody-${name}@example.com`]) {
						calls.length = 0;
						await realCall(action, { email: address });
						expect(calls).toEqual([]);
					}
				} finally {
					spy.mockRestore();
				}
			}
		);
	});

	describe("8. IPv6 clients are one client per /64", () => {
		it("in auth's failure limit per address", async () => {
			for (let i = 1; i <= 8; i++) {
				await wrongSignIn(stack.broker, `v6spray${i}`, `2001:db8:1:2::${i}`);
			}
			// The same /64: refused. The next /64: another client.
			expect(
				await wrongSignIn(stack.broker, "v6spray9", "2001:db8:1:2:ffff::9")
			).toMatchObject({
				code: 429
			});
			expect(await wrongSignIn(stack.broker, "v6spray9", "2001:db8:1:3::1")).toMatchObject({
				code: 401
			});
		});

		it("in tokens' failed lookups", async () => {
			const wrong = () => ({
				type: "api-key",
				token: "mtk_not-a-real-token-at-all-0000000000"
			});
			let refused = 0;
			for (let i = 1; i <= 40 && refused === 0; i++) {
				refused += await call("tokens.check", wrong(), {
					ip: `2001:db8:9:9::${i.toString(16)}`
				}).then(
					() => 0,
					err => ((err as { code: number }).code === 429 ? 1 : 0)
				);
			}
			expect(refused).toBe(1);
			await expectRefused(call("tokens.check", wrong(), { ip: "2001:db8:9:9:abcd::1" }), 429);
			await expect(
				call("tokens.check", wrong(), { ip: "2001:db8:9:a::1" })
			).resolves.toBeNull();
		});
	});

	describe("10. the API-key cap holds under concurrent creates", () => {
		it("30 parallel creates on 4 keys leave exactly 5", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("racer"), PASSWORD);
			const caller = await callerFor(
				stack.broker,
				(await signIn(stack.broker, account.username, PASSWORD)).accessToken
			);
			for (let i = 0; i < 4; i++)
				await call("auth.createApiKey", { name: `k${i}` }, { user: caller });
			const results = await Promise.allSettled(
				Array.from({ length: 30 }, (_, i) =>
					call("auth.createApiKey", { name: `p${i}` }, { user: caller })
				)
			);
			const created = passedElseRefused(results, 409, "TOO_MANY_KEYS");
			const keys = await call<TokenEntity[]>("auth.listApiKeys", {}, { user: caller });
			expect(keys).toHaveLength(5);
			expect(created).toHaveLength(1);
		});
	});

	describe("11. one sign-in budget per account", () => {
		it("the username and the address share it", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("budget"), PASSWORD);
			for (const login of [
				account.username,
				account.email,
				account.username,
				account.email,
				account.username
			]) {
				await expectRefused(signIn(stack.broker, login, "wrong password"), 401);
			}
			await expectRefused(
				signIn(stack.broker, account.email, PASSWORD),
				429,
				"TOO_MANY_ATTEMPTS"
			);
		});
	});

	describe("12. API keys cannot manage keys or sessions", () => {
		it("revoking keys and signing out everywhere need a session", async () => {
			const account = await createVerifiedAccount(stack, uniqueName("scoped"), PASSWORD);
			const session = await signIn(stack.broker, account.username, PASSWORD);
			const caller = await callerFor(stack.broker, session.accessToken);
			const { key, token } = await call<{ key: TokenEntity; token: string }>(
				"auth.createApiKey",
				{ name: "k" },
				{ user: caller }
			);
			const { user: asKey } = await call<{ user: AuthUser }>("auth.resolveApiKey", {
				key: token
			});
			expect(asKey.via).toBe("api-key");
			for (const [action, params] of [
				["auth.revokeApiKey", { id: key.id }],
				["auth.signOutEverywhere", {}],
				["auth.createApiKey", { name: "more" }]
			] as const) {
				await expectRefused(call(action, params, { user: asKey }), 403, "SESSION_REQUIRED");
			}
			await expect(callerFor(stack.broker, session.accessToken)).resolves.toBeTruthy();
			await expect(call("auth.resolveApiKey", { key: token })).resolves.toBeTruthy();
		});
	});
});

describe("security review: password hashing is bounded", () => {
	let stack: AuthStack;

	beforeAll(async () => {
		stack = await startAuthStack({
			auth: {
				hashing: { concurrency: 1, queue: 2 },
				limits: attemptLimits({ signIn: 1000, address: 1000, mail: 5 })
			}
		});
	});

	afterAll(async () => {
		await stack?.stop();
	});

	it("refuses sign-ins beyond the queue at once with 503 and a retry time; tokens keep answering", async () => {
		const { token } = await stack.broker.call<{ token: string }, object>("tokens.generate", {
			type: "api-key",
			owner: "o"
		});
		const attempts = Array.from({ length: 12 }, (_, i) =>
			signIn(stack.broker, `nobody${i}`, "wrong password").then(
				() => ({ code: 200, type: "SIGNED_IN", data: null }),
				err => err as { code: number; type: string; data: unknown }
			)
		);
		const started = Date.now();
		await expect(
			stack.broker.call("tokens.check", { type: "api-key", token })
		).resolves.toBeTruthy();
		const checkMs = Date.now() - started;
		const results = await Promise.all(attempts);
		const busy = results.filter(r => r.code === 503);
		expect(results.filter(r => r.code === 401)).toHaveLength(3);
		expect(busy).toHaveLength(9);
		for (const b of busy) expect(b).toMatchObject({ type: "BUSY", data: { retryAfter: 1 } });
		expect(checkMs).toBeLessThan(100);
	});

	it("does not open the circuit breaker with its refusals: the next sign-in is checked", async () => {
		const results = await Promise.all(
			Array.from({ length: 40 }, (_, i) =>
				signIn(stack.broker, `burst${i}`, "wrong password").then(
					() => 200,
					err => (err as { code: number }).code
				)
			)
		);
		expect(results.filter(code => code === 503).length).toBeGreaterThanOrEqual(30);
		// An open breaker would answer 503 SERVICE_NOT_AVAILABLE without checking anything.
		await expectRefused(
			signIn(stack.broker, "after-the-burst", "wrong password"),
			401,
			"INVALID_CREDENTIALS"
		);
	});
});
