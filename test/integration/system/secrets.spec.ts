/**
 * Secrets never leak, whole system: known passwords, access and refresh tokens, API keys, mail-link
 * tokens, action-link tokens, pool tokens, ADMIN_TOKEN, TOKEN_SALT and JWT_SECRET are driven through
 * every path of `auth`, `mail`, `links`, `pools` and the gateway, over REST and with broker calls
 * from another node (moleculer's in-process Fake transporter, so calls are serialized and go through
 * transit), including validation errors with a secret in a wrong-typed or unknown field, malformed
 * bodies, bad credentials and a store failure, at debug level with tracing on. None may appear in
 * any log line, trace span, error body, event payload or data file. The mails themselves carry link
 * tokens by design and are left out; the mail service's logs are not.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context, ServiceBroker } from "moleculer";
import { tracingOptions } from "../../../lib/broker/observability";
import ApiService from "../../../services/api/api.service";
import AuthService, { type AuthUser, type SignInResult } from "../../../services/auth/auth.service";
import LinksService, { type CreatedLink } from "../../../services/links.service";
import MailService from "../../../services/mail.service";
import PoolsService from "../../../services/pools.service";
import AuditService from "../../../services/audit.service";
import TokensService from "../../../services/tokens/tokens.service";
import { FAST_SCRYPT } from "../../helpers/auth";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../../helpers/broker";
import { DiskFull } from "../../helpers/disk-full";
import { LeakCapture } from "../../helpers/logs";
import { uniqueNamespace } from "../../helpers/nats";
import { linkIn, startSmtpServer, tokenOf, type TestSmtpServer } from "../../helpers/smtp";
import { later } from "../../helpers/async";
import { base32Decode, hotp, totpStep } from "../../../lib/auth/totp";
import { SoftwareAuthenticator } from "../../helpers/software-authenticator";

const SALT = "system-secrets-salt-0123456789-abcdefghijklmnopq";
const JWT_SECRET = "system-secrets-jwt-secret-0123456789-abcdefghijk";
const ADMIN_TOKEN = "system-secrets-admin-token-0123456789-abcdefghij";
const PASSWORD = "first secret password 0001";
const NEW_PASSWORD = "second secret password 0002";
const THIRD_PASSWORD = "third secret password 0003";
const HIGH = { maxAttempts: 100_000, window: 900 };

describe("secrets never leak: auth, mail, links, pools and the gateway", () => {
	const saved = { ...process.env };
	let dataDir: string;
	let smtp: TestSmtpServer;
	let core: ServiceBroker;
	let edge: ServiceBroker;
	let base: string;
	const captured = new LeakCapture(2, () => dataDir);
	const { logs, spans, events, errorBodies } = captured;
	/** Every secret the suite handled. */
	const secrets = new Set<string>([
		SALT,
		JWT_SECRET,
		ADMIN_TOKEN,
		PASSWORD,
		NEW_PASSWORD,
		THIRD_PASSWORD
	]);
	const keep = (...values: string[]) => values.forEach(v => secrets.add(v));
	/** Mailed codes: six digits, looked for only as a number of their own (not inside another). */
	const codes = new Set<string>();

	/**
	 * TRACING_EXPORTER=Event as production configures it, sending each span as it ends (rather than
	 * every 5 s) so the recorder below hears them all: the span events join the leak checks.
	 */
	const eventExporter = (
		tracingOptions({ TRACING_EXPORTER: "Event" }) as {
			exporter: { type: "Event"; options: object }[];
		}
	).exporter[0];

	const options = (i: number, nodeID: string, namespace: string) =>
		captured.nodeOptions(i, { nodeID, namespace }, [
			{ ...eventExporter, options: { ...eventExporter.options, interval: 0 } }
		]);

	/** An HTTP call; error answers are kept for the leak checks. */
	async function http(
		method: string,
		path: string,
		init: { json?: unknown; body?: string; headers?: Record<string, string> } = {}
	) {
		const headers = { ...init.headers };
		let body = init.body;
		if (init.json !== undefined) {
			headers["content-type"] ??= "application/json";
			body = JSON.stringify(init.json);
		}
		const res = await fetch(`${base}${path}`, { method, headers, body });
		const text = await res.text();
		// A page's form carries the token its own request carried back to the same reader, by
		// design (the confirm button, the reset form shown again): that field is left out.
		const kept = text.replace(/<input type="hidden" name="token" value="[^"]*">/g, "");
		if (res.status >= 400) errorBodies.push(`${res.status} ${kept}`);
		const parsed: unknown = (res.headers.get("content-type") ?? "").includes("json")
			? JSON.parse(text)
			: text;
		return {
			status: res.status,
			body: parsed as Record<string, unknown>,
			text,
			headers: res.headers
		};
	}

	const failure = (promise: Promise<unknown>) => captured.failure(promise);

	const form = (fields: Record<string, string>) => ({
		body: new URLSearchParams(fields).toString(),
		headers: { "content-type": "application/x-www-form-urlencoded" }
	});
	const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
	const admin = bearer(ADMIN_TOKEN);
	/** POST /api/me/password with this credential: the answer's status. */
	const changePassword = async (
		credential: string,
		currentPassword: string,
		newPassword: string
	) =>
		(
			await http("POST", "/api/me/password", {
				headers: bearer(credential),
				json: { currentPassword, newPassword }
			})
		).status;
	/** A JSON POST with ADMIN_TOKEN: the answer's status. */
	const adminPost = async (path: string, json: object) =>
		(await http("POST", path, { headers: admin, json })).status;
	const mailTo = (to: string, path: string, seen: number) =>
		smtp.waitFor(
			m =>
				smtp.messages.indexOf(m) >= seen &&
				m.to.includes(to) &&
				m.text.includes(`${path}?token=`)
		);
	/** Ada asks for a mail (POST `route`); the token of its `page` link, kept, whose page opens. */
	const adaLinkToken = async (route: string, page: string) => {
		const seen = smtp.messages.length;
		await http("POST", route, { json: { email: "ada@example.com" } });
		const token = tokenOf(linkIn(await mailTo("ada@example.com", page, seen), page));
		keep(token);
		expect((await http("GET", `${page}?token=${token}`)).status).toBe(200);
		return token;
	};

	beforeAll(async () => {
		process.env.TOKEN_SALT = SALT;
		process.env.JWT_SECRET = JWT_SECRET;
		dataDir = tempDataDir("moleculer-system-secrets-");
		smtp = await startSmtpServer();
		const namespace = uniqueNamespace("system-secrets");
		core = createTestBroker(options(0, "core", namespace));
		core.createService(withSettings(TokensService, { dataDir }));
		core.createService(
			withSettings(AuthService, {
				dataDir,
				password: FAST_SCRYPT,
				publicUrl: "http://app.test",
				limits: { signIn: HIGH, address: HIGH, mail: HIGH }
			})
		);
		core.createService(withSettings(LinksService, { dataDir, allowedActions: ["echo.run"] }));
		core.createService(withSettings(PoolsService, { dataDir }));
		// The audit trail records every auth event of the paths below into its data file, scanned too.
		core.createService(withSettings(AuditService, { dataDir }));
		core.createService({
			name: "echo",
			actions: { run: (ctx: Context) => ({ ran: Object.keys(ctx.params as object) }) }
		});
		edge = createTestBroker(options(1, "edge", namespace));
		edge.createService(withSettings(MailService, { smtpUrl: smtp.url }));
		const api = edge.createService(
			withSettings(ApiService, {
				port: 0,
				ip: "127.0.0.1",
				adminToken: ADMIN_TOKEN,
				publicUrl: "http://app.test",
				rateLimit: { window: 60, public: 100_000, user: 100_000, admin: 100_000 }
			})
		);
		captured.recordEvents(edge);
		await Promise.all([core.start(), edge.start()]);
		await edge.waitForServices(["tokens", "auth", "links", "pools", "audit"], 10_000);
		await core.waitForServices(["mail"], 10_000);
		const { port } = (api as unknown as { server: Server }).server.address() as AddressInfo;
		base = `http://127.0.0.1:${port}`;
	});

	afterAll(async () => {
		await Promise.all([edge?.stop(), core?.stop()]);
		await smtp?.close();
		removeDir(dataDir);
		process.env = { ...saved };
	});

	it("drives every path over REST: accounts, mail links, sessions, API keys, admin routes, pools, action links", async () => {
		// Sign-up, the verification link (page GET, then the button's POST).
		let seen = smtp.messages.length;
		expect(
			(
				await http("POST", "/api/auth/sign-up", {
					json: { username: "ada", email: "ada@example.com", password: PASSWORD }
				})
			).status
		).toBe(200);
		const verify = tokenOf(
			linkIn(await mailTo("ada@example.com", "/verify-email", seen), "/verify-email")
		);
		keep(verify);
		expect((await http("GET", `/verify-email?token=${verify}`)).status).toBe(200);
		expect(
			(await http("POST", "/verify-email", form({ token: verify, password: PASSWORD })))
				.status
		).toBe(200);
		// Spent: the page and the JSON route refuse it now.
		await http("POST", "/verify-email", form({ token: verify }));
		expect(
			(await http("POST", "/api/auth/verify-email", { json: { token: verify } })).status
		).toBe(400);

		// Password sign-in, wrong password, session use, refresh rotation and replay, sign-out.
		const signIn = await http("POST", "/api/auth/sign-in", {
			json: { login: "ada", password: PASSWORD }
		});
		const s1 = signIn.body as unknown as SignInResult;
		keep(s1.accessToken, s1.refreshToken);
		expect(
			(
				await http("POST", "/api/auth/sign-in", {
					json: { login: "ada", password: NEW_PASSWORD }
				})
			).status
		).toBe(401);
		expect((await http("GET", "/api/me", { headers: bearer(s1.accessToken) })).status).toBe(
			200
		);
		const r1 = await http("POST", "/api/auth/refresh", {
			json: { refreshToken: s1.refreshToken }
		});
		const s2 = r1.body as unknown as SignInResult;
		keep(s2.accessToken, s2.refreshToken);
		// Replay of the rotated token after the reuse interval: the whole family is revoked.
		expect(
			(
				await later(11_000, () =>
					http("POST", "/api/auth/refresh", { json: { refreshToken: s1.refreshToken } })
				)
			).status
		).toBe(401);
		expect(
			(await http("POST", "/api/auth/sign-out", { json: { refreshToken: s2.refreshToken } }))
				.status
		).toBe(200);

		// Magic link: request, page, sign-in; then a spent link.
		const magic = await adaLinkToken("/api/auth/magic-link", "/magic-link");
		const magicPage = await http("POST", "/magic-link", form({ token: magic }));
		expect(magicPage.status).toBe(200);
		for (const t of magicPage.text.match(/(eyJ[\w-]+\.[\w-]+\.[\w-]+|mtf_[0-9A-Za-z]{36})/g) ??
			[])
			keep(t);
		expect(
			(await http("POST", "/api/auth/magic-link/sign-in", { json: { token: magic } })).status
		).toBe(400);

		// Password reset: request, page, a rejected password (token kept), the real reset.
		const reset = await adaLinkToken("/api/auth/forgot-password", "/reset-password");
		await http(
			"POST",
			"/reset-password",
			form({ token: reset, password: "short", confirmPassword: "short" })
		);
		await http("POST", "/api/auth/reset-password", {
			json: { token: reset, password: NEW_PASSWORD, confirmPassword: PASSWORD }
		});
		expect(
			(
				await http(
					"POST",
					"/reset-password",
					form({ token: reset, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD })
				)
			).status
		).toBe(200);
		await http("POST", "/api/auth/resend-verification", { json: { email: "ada@example.com" } });

		// A session, a password change, API keys (create, use both ways, list, revoke, use revoked).
		const s3 = (
			await http("POST", "/api/auth/sign-in", {
				json: { login: "ada@example.com", password: NEW_PASSWORD }
			})
		).body as unknown as SignInResult;
		keep(s3.accessToken, s3.refreshToken);
		expect(await changePassword(s3.accessToken, PASSWORD, THIRD_PASSWORD)).toBe(403);
		expect(await changePassword(s3.accessToken, NEW_PASSWORD, THIRD_PASSWORD)).toBe(200);
		// The old access token is dead now.
		expect((await http("GET", "/api/me", { headers: bearer(s3.accessToken) })).status).toBe(
			401
		);
		const s4 = (
			await http("POST", "/api/auth/sign-in", {
				json: { login: "ada", password: THIRD_PASSWORD }
			})
		).body as unknown as SignInResult;
		keep(s4.accessToken, s4.refreshToken);
		const { user } = await edge.call<{ user: AuthUser }, object>("auth.resolveAccessToken", {
			token: s4.accessToken
		});
		await edge.call("auth.setUserScopes", { userId: user.id, scopes: ["admin"] });
		const created = await http("POST", "/api/me/api-keys", {
			headers: bearer(s4.accessToken),
			json: { name: "laptop", scopes: ["admin"] }
		});
		const apiKey = (created.body as { token: string }).token;
		const keyId = (created.body as { key: { id: string } }).key.id;
		keep(apiKey);
		expect((await http("GET", "/api/me", { headers: { "x-api-key": apiKey } })).status).toBe(
			200
		);
		expect((await http("GET", "/api/me/api-keys", { headers: bearer(apiKey) })).status).toBe(
			200
		);
		// An API key may not create keys or change the password.
		await http("POST", "/api/me/api-keys", { headers: bearer(apiKey), json: { name: "x" } });
		await changePassword(apiKey, THIRD_PASSWORD, PASSWORD);

		// Admin routes with ADMIN_TOKEN and with the admin key.
		const generated = await http("POST", "/api/tokens", {
			headers: admin,
			json: { type: "api-key", owner: "svc", name: "svc" }
		});
		const adminMade = (generated.body as { token: string }).token;
		keep(adminMade);
		expect(
			(
				await http("POST", "/api/tokens/check", {
					headers: bearer(apiKey),
					json: { type: "api-key", token: adminMade }
				})
			).status
		).toBe(200);
		await http("GET", "/api/tokens?owner=svc&type=api-key", { headers: admin });
		expect(await adminPost("/api/tokens/remove", { type: "api-key", token: adminMade })).toBe(
			200
		);
		await http("DELETE", "/api/tokens?owner=svc", { headers: admin });

		// Pools: configure, stats, generate, assign (client_id), keep-alive, unblock, delete.
		await http("PUT", "/api/pools/seats", { headers: admin, json: { size: 2, leaseTime: 60 } });
		const g1 = (
			await http("POST", "/api/pools/seats/generate-token", { headers: admin, json: {} })
		).body as { token: string };
		keep(g1.token);
		const lease = (
			await http("POST", "/api/pools/seats/assign-token", {
				headers: bearer(apiKey),
				json: { client_id: "w1" }
			})
		).body as { token: string };
		keep(lease.token);
		expect(
			await adminPost("/api/pools/seats/keep-alive", { token: lease.token, client_id: "w1" })
		).toBe(200);
		expect(
			await adminPost("/api/pools/seats/keep-alive", { token: lease.token, client_id: "w2" })
		).toBe(403);
		await http("GET", "/api/pools/seats", { headers: admin });
		expect(await adminPost("/api/pools/seats/unblock-token", { token: lease.token })).toBe(200);
		await adminPost("/api/pools/seats/unblock-token", { token: lease.token });
		expect(await adminPost("/api/pools/seats/delete-token", { token: g1.token })).toBe(200);
		await adminPost("/api/pools/seats/delete-token", { token: g1.token });

		// Action links: made by a service, confirmed (GET) and redeemed (POST) through the pages.
		const link = await edge.call<CreatedLink, object>("links.create", {
			owner: user.id,
			action: "echo.run",
			params: { list: "news" }
		});
		keep(link.token);
		expect((await http("GET", `/token/${link.token}`)).status).toBe(200);
		expect((await http("POST", "/token", form({ token: link.token }))).status).toBe(200);
		expect((await http("POST", `/token/${link.token}`)).status).toBe(404);

		// Codes: the one in the verification mail (ada's address is confirmed, so it is spent
		// without effect), and a sign-in code, a wrong one first.
		seen = smtp.messages.length;
		expect(
			(await http("POST", "/api/auth/email-code", { json: { email: "ada@example.com" } }))
				.status
		).toBe(200);
		const codeMail = await smtp.waitFor(
			m =>
				smtp.messages.indexOf(m) >= seen &&
				m.to.includes("ada@example.com") &&
				m.subject.includes("sign-in code")
		);
		const signInCode = /\b([0-9]{6})\b/.exec(codeMail.text)![1];
		codes.add(signInCode);
		const wrongCode = signInCode === "000000" ? "000001" : "000000";
		expect(
			(
				await http("POST", "/api/auth/email-code/sign-in", {
					json: { email: "ada@example.com", code: wrongCode }
				})
			).status
		).toBe(401);
		const byCode = await http("POST", "/api/auth/email-code/sign-in", {
			json: { email: "ada@example.com", code: signInCode }
		});
		expect(byCode.status).toBe(200);
		keep(String(byCode.body.accessToken), String(byCode.body.refreshToken));

		// A cookie session: signed in into cookies, refreshed from them, a forged cross-site
		// request refused, signed out.
		const origin = { origin: "http://app.test" };
		const cookieValues = (headers: Headers) => {
			const pairs = headers.getSetCookie().map(c => c.split(";")[0]);
			keep(...pairs.map(p => p.slice(p.indexOf("=") + 1)).filter(v => v !== ""));
			return pairs.join("; ");
		};
		const inCookies = await http("POST", "/api/auth/sign-in", {
			headers: origin,
			json: { login: "ada", password: THIRD_PASSWORD, cookie: true }
		});
		expect(inCookies.status).toBe(200);
		const jar = cookieValues(inCookies.headers);
		const rotated = await http("POST", "/api/auth/refresh", {
			headers: { ...origin, cookie: jar },
			json: {}
		});
		expect(rotated.status).toBe(200);
		const jar2 = cookieValues(rotated.headers);
		expect(
			(
				await http("POST", "/api/me/password", {
					headers: { origin: "https://evil.example", cookie: jar2 },
					json: { currentPassword: THIRD_PASSWORD, newPassword: NEW_PASSWORD }
				})
			).status
		).toBe(403);
		expect((await http("GET", "/api/me", { headers: { cookie: jar2 } })).status).toBe(200);
		expect(
			(
				await http("POST", "/api/auth/sign-out", {
					headers: { ...origin, cookie: jar2 },
					json: {}
				})
			).status
		).toBe(200);
		expect((await http("GET", "/api/me", { headers: { cookie: jar2 } })).status).toBe(401);

		// TOTP for a second account: enrolment, confirmation, a sign-in with a code, one with a
		// recovery code, a wrong code and a replay; the secret and recovery codes are secrets.
		await edge.call("auth.signUp", {
			username: "tom",
			email: "tom@example.com",
			password: PASSWORD
		});
		const tomMail = await mailTo("tom@example.com", "/verify-email", 0);
		await http(
			"POST",
			"/verify-email",
			form({ token: tokenOf(linkIn(tomMail, "/verify-email")), password: PASSWORD })
		);
		const tomSession = await http("POST", "/api/auth/sign-in", {
			json: { login: "tom", password: PASSWORD }
		});
		const tomBearer = bearer(String(tomSession.body.accessToken));
		keep(String(tomSession.body.accessToken), String(tomSession.body.refreshToken));
		const enrolled = await http("POST", "/api/me/totp", { headers: tomBearer, json: {} });
		const totpSecret = String(enrolled.body.secret);
		keep(
			totpSecret,
			String(enrolled.body.otpauthUri),
			base32Decode(totpSecret).toString("base64")
		);
		const totpKey = base32Decode(totpSecret);
		const step = totpStep(Date.now());
		codes.add(hotp(totpKey, step)).add(hotp(totpKey, step + 1));
		const confirmed = await http("POST", "/api/me/totp/confirm", {
			headers: tomBearer,
			json: { code: hotp(totpKey, step) }
		});
		expect(confirmed.status).toBe(200);
		const recoveryCodes = confirmed.body.recoveryCodes as string[];
		keep(...recoveryCodes, ...recoveryCodes.map(c => c.replace("-", "")));
		const challenged = await http("POST", "/api/auth/sign-in", {
			json: { login: "tom", password: PASSWORD }
		});
		const totpChallenge = String(challenged.body.challenge);
		keep(totpChallenge);
		expect(
			(
				await http("POST", "/api/auth/sign-in/totp", {
					json: { challenge: totpChallenge, code: hotp(totpKey, step) }
				})
			).status
		).toBe(401);
		const withTotp = await http("POST", "/api/auth/sign-in/totp", {
			json: { challenge: totpChallenge, code: hotp(totpKey, step + 1) }
		});
		expect(withTotp.status).toBe(200);
		keep(String(withTotp.body.accessToken), String(withTotp.body.refreshToken));
		const challenged2 = await http("POST", "/api/auth/sign-in", {
			json: { login: "tom", password: PASSWORD }
		});
		keep(String(challenged2.body.challenge));
		const withRecovery = await http("POST", "/api/auth/sign-in/totp", {
			json: { challenge: String(challenged2.body.challenge), recoveryCode: recoveryCodes[0] }
		});
		expect(withRecovery.status).toBe(200);
		keep(String(withRecovery.body.accessToken), String(withRecovery.body.refreshToken));

		// Revoke the key, then use it; sign out everywhere; the refresh token then fails.
		expect(
			(await http("DELETE", `/api/me/api-keys/${keyId}`, { headers: bearer(s4.accessToken) }))
				.status
		).toBe(200);
		expect((await http("GET", "/api/me", { headers: bearer(apiKey) })).status).toBe(401);
		expect(
			(await http("POST", "/api/me/sign-out-everywhere", { headers: bearer(s4.accessToken) }))
				.status
		).toBe(200);
		expect(
			(await http("POST", "/api/auth/refresh", { json: { refreshToken: s4.refreshToken } }))
				.status
		).toBe(401);
	});

	it("validation errors, malformed bodies, bad credentials and secrets in URLs, over REST", async () => {
		const [key, refresh, jwt, link, pool] = [...secrets].filter(s =>
			/^(mtk|mtf|eyJ|mta|mtl)/.test(s)
		);
		expect([key, refresh, jwt, link, pool].every(Boolean)).toBe(true);
		const s = (
			await http("POST", "/api/auth/sign-in", {
				json: { login: "ada", password: THIRD_PASSWORD }
			})
		).body as unknown as SignInResult;
		keep(s.accessToken, s.refreshToken);
		const cases: [string, string, unknown, Record<string, string>?][] = [
			["POST", "/api/auth/sign-in", { login: "ada", password: [THIRD_PASSWORD] }],
			[
				"POST",
				"/api/auth/sign-in",
				{ login: "ada", password: THIRD_PASSWORD, extra: THIRD_PASSWORD }
			],
			["POST", "/api/auth/sign-in", { login: { THIRD_PASSWORD }, password: 42 }],
			[
				"POST",
				"/api/auth/sign-up",
				{ username: "a b", email: SALT, password: 7, [key]: key }
			],
			["POST", "/api/auth/refresh", { refreshToken: { refresh } }],
			["POST", "/api/auth/refresh", { refreshToken: 1, [refresh]: refresh }],
			["POST", "/api/auth/sign-out", { refreshToken: [refresh] }],
			["POST", "/api/auth/verify-email", { token: [link], secret: JWT_SECRET }],
			[
				"POST",
				"/api/auth/reset-password",
				{ token: link, password: "short", confirmPassword: NEW_PASSWORD }
			],
			[
				"POST",
				"/api/me/api-keys",
				{ name: [key], expiry: key, scopes: key },
				bearer(s.accessToken)
			],
			[
				"POST",
				"/api/me/password",
				{ currentPassword: [THIRD_PASSWORD], newPassword: PASSWORD.slice(0, 5) },
				bearer(s.accessToken)
			],
			[
				"POST",
				"/api/tokens",
				{ type: key, owner: [key], data: { [key]: key } },
				bearer(ADMIN_TOKEN)
			],
			[
				"POST",
				"/api/tokens/check",
				{ type: "api-key", token: { key }, salt: SALT },
				bearer(ADMIN_TOKEN)
			],
			[
				"POST",
				"/api/pools/seats/keep-alive",
				{ token: pool, clientId: [pool] },
				bearer(ADMIN_TOKEN)
			],
			["POST", "/api/pools/seats/assign-token", { client_id: { pool } }, bearer(ADMIN_TOKEN)],
			[
				"PUT",
				"/api/pools/seats",
				{ size: pool, leaseTime: [pool], tokenTtl: pool },
				bearer(ADMIN_TOKEN)
			]
		];
		for (const [method, path, json, headers] of cases) {
			const res = await http(method, path, { json, headers });
			expect([400, 401, 403, 422]).toContain(res.status);
		}
		// Malformed JSON holding secrets, and a body too large.
		for (const body of [
			`{"password":"${THIRD_PASSWORD}`,
			`{"refreshToken": ${refresh}}`,
			`{"token":"${link}",}`
		]) {
			expect(
				(
					await http("POST", "/api/auth/sign-in", {
						body,
						headers: { "content-type": "application/json" }
					})
				).status
			).toBe(400);
		}
		expect(
			(
				await http("POST", "/api/auth/sign-in", {
					json: { login: "ada", password: `${THIRD_PASSWORD}${"x".repeat(20_000)}` }
				})
			).status
		).toBe(413);
		// Bad credentials holding secrets: revoked, mangled, in the wrong scheme, too long.
		for (const headers of [
			bearer(key),
			{ "x-api-key": `${key}x` },
			{ authorization: `Basic ${THIRD_PASSWORD}` },
			{ authorization: `Bearer ${jwt}${ADMIN_TOKEN}` },
			bearer(`${ADMIN_TOKEN}x`),
			{ "x-api-key": key.repeat(200) }
		]) {
			// 431: Node refuses the longest header before the gateway sees it.
			expect([401, 403, 431]).toContain((await http("GET", "/api/me", { headers })).status);
			expect([401, 403, 431]).toContain(
				(await http("GET", "/api/tokens?owner=x", { headers })).status
			);
		}
		// Secrets in URLs: query strings of pages and routes, token paths, unknown routes.
		await http(
			"GET",
			`/verify-email?token=${link}&password=${encodeURIComponent(THIRD_PASSWORD)}`
		);
		await http("GET", `/magic-link?token=${refresh}`);
		await http("GET", `/reset-password?token=${key}&jwt=${jwt}`);
		await http("GET", `/token/${pool}`);
		await http("POST", `/token/${key}`);
		await http("GET", `/api/me?access_token=${jwt}&refreshToken=${refresh}`, {
			headers: bearer(s.accessToken)
		});
		await http("GET", `/api/nothing/${key}?token=${link}`);
		await http("GET", `/api/tokens?owner=${key}&type=${refresh}`, { headers: admin });
		await http("DELETE", `/api/tokens?owner[${key}]=${refresh}`, { headers: admin });
	});

	it("broker calls from another node: every action, validation errors with secrets, a store failure", async () => {
		// The service API: a subject's pair, validated, rotated, invalidated.
		const pair = await edge.call<SignInResult, object>("auth.issueTokens", {
			subject: "profile-1",
			scopes: ["read"]
		});
		keep(pair.accessToken, pair.refreshToken);
		await edge.call("auth.validateToken", { token: pair.accessToken });
		const pair2 = await edge.call<SignInResult, object>("auth.refresh", {
			refreshToken: pair.refreshToken
		});
		keep(pair2.accessToken, pair2.refreshToken);
		await edge.call("auth.invalidateTokens", { subject: "profile-1" });
		expect(
			(await failure(edge.call("auth.validateToken", { token: pair2.accessToken }))).code
		).toBe(401);
		expect(
			(
				await failure(
					edge.call("auth.issueTokens", {
						subject: "s",
						scopes: [pair2.refreshToken + " x"]
					})
				)
			).code
		).toBe(422);

		const [key, refresh, jwt, link, pool] = [...secrets].filter(s =>
			/^(mtk|mtf|eyJ|mta|mtl)/.test(s)
		);
		for (const broker of [edge, core]) {
			const s = await broker.call<SignInResult, object>("auth.signIn", {
				login: "ada",
				password: THIRD_PASSWORD
			});
			keep(s.accessToken, s.refreshToken);
			const next = await broker.call<SignInResult, object>("auth.refresh", {
				refreshToken: s.refreshToken
			});
			keep(next.accessToken, next.refreshToken);
			const { user } = await broker.call<{ user: AuthUser }, object>(
				"auth.resolveAccessToken",
				{ token: next.accessToken }
			);
			const meta = { meta: { user } };
			const made = await broker.call<{ token: string; key: { id: string } }, object>(
				"auth.createApiKey",
				{ name: "b", scopes: ["admin"] },
				meta
			);
			keep(made.token);
			await broker.call("auth.resolveApiKey", { key: made.token });
			await broker.call("auth.listApiKeys", {}, meta);
			await broker.call("auth.me", {}, meta);
			await broker.call("auth.revokeApiKey", { id: made.key.id }, meta);
			await failure(broker.call("auth.resolveApiKey", { key: made.token }));
			await broker.call("auth.signOut", { refreshToken: next.refreshToken });
			await failure(broker.call("auth.refresh", { refreshToken: next.refreshToken }));
			await failure(broker.call("auth.signIn", { login: "ada", password: PASSWORD }));

			const l = await broker.call<CreatedLink, object>("links.create", {
				owner: user.id,
				action: "echo.run",
				params: { list: "x" },
				multiUse: true,
				lockTimeout: 60
			});
			keep(l.token);
			await broker.call("links.load", { token: l.token });
			await broker.call("links.isValid", { token: l.token });
			await broker.call("links.redeem", { token: l.token });
			await failure(broker.call("links.redeem", { token: l.token })); // 423 locked
			await broker.call("links.invalidate", { token: l.token });
			await failure(broker.call("links.redeem", { token: l.token })); // 404

			const p = await broker.call<{ token: string }, object>("pools.generate", {
				pool: "calls"
			});
			keep(p.token);
			const a = await broker.call<{ token: string }, object>("pools.assign", {
				pool: "calls",
				clientId: "c1"
			});
			keep(a.token);
			await broker.call("pools.keepAlive", { pool: "calls", token: a.token, clientId: "c1" });
			await failure(
				broker.call("pools.keepAlive", { pool: "calls", token: a.token, clientId: "c2" })
			);
			await broker.call("pools.unblock", { pool: "calls", token: a.token, clientId: "c1" });
			await failure(broker.call("pools.unblock", { pool: "calls", token: a.token }));
			await broker.call("pools.delete", { pool: "calls", token: p.token });
			await failure(broker.call("pools.delete", { pool: "calls", token: p.token }));
			await broker.call("pools.stats", { pool: "calls" });

			const bad: [string, object, object?][] = [
				["auth.signIn", { login: "ada", password: { THIRD_PASSWORD } }],
				["auth.signIn", { login: "ada", password: THIRD_PASSWORD, [key]: THIRD_PASSWORD }],
				["auth.signUp", { username: key, email: refresh, password: 3, salt: SALT }],
				["auth.refresh", { refreshToken: [refresh] }],
				["auth.resolveAccessToken", { token: { jwt } }],
				["auth.resolveApiKey", { key: [key], jwtSecret: JWT_SECRET }],
				[
					"auth.changePassword",
					{ currentPassword: THIRD_PASSWORD, newPassword: 5, x: THIRD_PASSWORD },
					meta
				],
				["auth.createApiKey", { name: key, expiry: key, scopes: [key, key] }, meta],
				["auth.verifyEmail", { token: [link] }],
				[
					"auth.resetPassword",
					{ token: link, password: NEW_PASSWORD, confirmPassword: PASSWORD }
				],
				["links.create", { owner: [link], action: "echo.run", params: link }],
				["links.load", { token: [link], extra: link }],
				["links.redeem", { token: { link } }],
				["pools.assign", { pool: "calls", clientId: [pool] }],
				["pools.keepAlive", { pool: pool.repeat(3), token: pool, clientId: { pool } }],
				["pools.delete", { pool: "calls", token: [pool], [pool]: 1 }],
				["pools.configure", { pool: "calls", size: pool, leaseTime: pool }],
				[
					"mail.send",
					{ to: "x@example.com", subject: `a\n${key}`, text: 5, html: [refresh] }
				]
			];
			for (const [action, params, opts] of bad) {
				expect((await failure(broker.call(action, params, opts))).code).toBe(422);
			}
		}

		// A store failure on the way: users.db cannot be written during a sign-up and a change.
		const disk = new DiskFull(dataDir, "users.db");
		disk.start();
		try {
			const res = await http("POST", "/api/auth/sign-up", {
				json: { username: "grace", email: "grace@example.com", password: NEW_PASSWORD }
			});
			expect(res.status).toBe(503);
			expect(
				(
					await failure(
						edge.call("auth.signUp", {
							username: "grace",
							email: "grace@example.com",
							password: PASSWORD
						})
					)
				).code
			).toBe(503);
		} finally {
			disk.stop();
		}
	});

	it("passkeys over REST: challenges, sessions and refusals, with every challenge kept as a secret", async () => {
		const password = "passkey user's password 0004";
		keep(password);
		await http("POST", "/api/auth/sign-up", {
			json: { username: "pia", email: "pia@example.com", password }
		});
		const mail = await smtp.waitFor(m => m.to.includes("pia@example.com"));
		const verifyToken = tokenOf(linkIn(mail, "/verify-email"));
		keep(verifyToken);
		await edge.call("auth.verifyEmail", { token: verifyToken, password });
		const session = (
			await http("POST", "/api/auth/sign-in", { json: { login: "pia", password } })
		).body as { accessToken: string; refreshToken: string };
		keep(session.accessToken, session.refreshToken);
		const authenticator = new SoftwareAuthenticator("http://app.test");
		/** A challenge: the token's text, and as it travels (base64url). */
		const keepChallenge = (options: { challenge: string }) =>
			keep(options.challenge, Buffer.from(options.challenge, "base64url").toString("utf8"));
		const creation = (
			await http("POST", "/api/me/passkeys/options", {
				json: {},
				headers: bearer(session.accessToken)
			})
		).body as { challenge: string; rp: { name: string }; user: { id: string; name: string } };
		keepChallenge(creation);
		const added = await http("POST", "/api/me/passkeys", {
			json: { response: authenticator.create(creation), name: "pia's laptop" },
			headers: bearer(session.accessToken)
		});
		expect(added.status).toBe(200);
		const options = (await http("POST", "/api/auth/passkey/options", { json: {} })).body as {
			challenge: string;
		};
		keepChallenge(options);
		const response = authenticator.get(options);
		const signedIn = await http("POST", "/api/auth/passkey/sign-in", { json: { response } });
		expect(signedIn.status).toBe(200);
		const tokens = signedIn.body as { accessToken: string; refreshToken: string };
		keep(tokens.accessToken, tokens.refreshToken);
		// Refusals: the replay, a stale counter, a wrong-typed response.
		expect(
			(await http("POST", "/api/auth/passkey/sign-in", { json: { response } })).status
		).toBe(401);
		const again = (await http("POST", "/api/auth/passkey/options", { json: {} })).body as {
			challenge: string;
		};
		keepChallenge(again);
		const stale = authenticator.get(again, { counter: 1 });
		expect(
			(await http("POST", "/api/auth/passkey/sign-in", { json: { response: stale } })).status
		).toBe(401);
		expect(
			(
				await http("POST", "/api/auth/passkey/sign-in", {
					json: { response: options.challenge }
				})
			).status
		).toBe(422);
		// Over the broker from the other node too.
		const third = await edge.call<{ challenge: string }, object>(
			"auth.passkeySignInOptions",
			{}
		);
		keepChallenge(third);
		await failure(
			edge.call("auth.signInWithPasskey", {
				response: authenticator.get(third, { tamper: true })
			})
		);
	});

	it("private signing keys: never in the JWKS, and kept as secrets for every capture below", async () => {
		const auth = core.getLocalService("auth") as unknown as {
			keyRing: { signingKey(): Promise<{ key: import("node:crypto").KeyObject }> };
		};
		const { key } = await auth.keyRing.signingKey();
		const jwk = key.export({ format: "jwk" }) as { d: string };
		const pem = key.export({ format: "pem", type: "pkcs8" }).toString();
		const pemBody = pem
			.split("\n")
			.filter(l => l && !l.startsWith("-----"))
			.join("");
		keep(jwk.d, pemBody);
		const jwks = await http("GET", "/.well-known/jwks.json");
		expect(jwks.status).toBe(200);
		expect(jwks.text).not.toContain(jwk.d);
		expect(jwks.text).not.toContain('"d"');
	});

	it("the captures saw every path (so a leak would show)", async () => {
		await Promise.all([edge.stop(), core.stop()]);
		for (const log of logs) expect(log.lines.length).toBeGreaterThan(100);
		const logText = logs.map(l => l.text()).join("\n");
		expect(logText).toMatch(/auth\.signUp failed: .*ENOSPC/);
		expect(logText).toMatch(/Mail .* sent \(smtp\)/);
		const spanNames = new Set(spans.flatMap(s => s.spans.map(span => span.name)));
		for (const action of [
			"auth.signUp",
			"auth.signIn",
			"auth.refresh",
			"auth.resetPassword",
			"auth.changePassword",
			"auth.createApiKey",
			"auth.resolveApiKey",
			"mail.send",
			"links.redeem",
			"pools.assign",
			"pools.keepAlive",
			"tokens.consume",
			"tokens.consumeCode",
			"auth.signInWithEmailCode",
			"auth.confirmTotp",
			"auth.signInWithTotp",
			"auth.issueTokens",
			"auth.signInWithPasskey"
		]) {
			expect(spanNames).toContain(`action '${action}'`);
		}
		// Requests' spans are named after the masked URL.
		expect(spanNames).toContain("GET /verify-email?token=<masked>");
		expect(spanNames).toContain("POST /token/<masked>");
		expect(events.map(e => e.name)).toEqual(
			expect.arrayContaining([
				"auth.signedIn",
				"auth.refreshTokenReused",
				"links.redeemed",
				"pools.assigned",
				"tokens.created",
				"$tracing.spans"
			])
		);
		expect(errorBodies.length).toBeGreaterThan(100);
		// The audit trail's file is among the data files scanned, with the paths' entries in it.
		const files = captured
			.places()
			.find(([what]) => what === "file in the data folder")![1]();
		for (const type of ["auth.signedIn", "auth.signInFailed", "auth.passkeyUsed"]) {
			expect(files).toContain(`"type":"${type}"`);
		}
		// Passwords, salt, JWT secret, admin token, and at least these many tokens and JWTs.
		expect(secrets.size).toBeGreaterThan(35);
		expect(codes.size).toBeGreaterThan(0);
	});

	/** Each secret, and for our tokens the random part alone (a re-encoded copy is still a leak). */
	const needles = () => [
		...[...secrets],
		...[...secrets].filter(s => /^mt[a-z]_/.test(s)).map(s => s.slice(4, 34)),
		...[...secrets].filter(s => s.startsWith("eyJ")).map(s => s.split(".")[2])
	];

	it.each(captured.places())("no secret in any %s", (_what, text) => {
		const haystack = text();
		expect(haystack.length).toBeGreaterThan(0);
		// Where each leaked secret was found, to say what carried it.
		const leaked = [
			...needles().filter(secret => haystack.includes(secret)),
			...[...codes].filter(code => new RegExp(`(?<![0-9])${code}(?![0-9])`).test(haystack))
		].map(secret => {
			const at = haystack.indexOf(secret);
			return haystack.slice(Math.max(0, at - 200), at + secret.length + 40);
		});
		expect(leaked).toEqual([]);
	});
});
