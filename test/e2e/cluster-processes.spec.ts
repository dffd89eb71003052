/**
 * The deployment as it runs in production: `tokens`, `auth`, `mail` and `api` as four separate
 * processes (moleculer-runner on the compiled dist/), talking over the real NATS server, driven over
 * HTTP with Node's fetch, mail received by a real SMTP server.
 *
 * 1. An account's whole life over HTTP, following the links in the mails.
 * 2. The `tokens` node is stopped (SIGTERM): callers get a quick 503, not a hang; restarted on the same
 *    DATA_DIR it resumes, and an API key made before still works.
 * 3. Graceful shutdown of the gateway: a request in flight when SIGTERM arrives still completes, new
 *    ones are refused, and the process exits 0.
 */
import { randomBytes } from "node:crypto";
import { describeWithNats, NATS_URL, uniqueNamespace } from "../helpers/nats";
import { removeDir, tempDataDir } from "../helpers/broker";
import { linkIn, startSmtpServer, tokenOf, type TestSmtpServer } from "../helpers/smtp";
import { postJson, request, setCookieValue } from "../helpers/http";
import { buildOnce, eventually, freePort, startNode, type NodeProcess } from "../helpers/process";

interface Session {
	accessToken: string;
	refreshToken: string;
}

function hiddenToken(html: string): string {
	const match = /<input type="hidden" name="token" value="([^"]+)">/.exec(html);
	if (!match) throw new Error(`no hidden token on the page:\n${html}`);
	return match[1];
}

describeWithNats("the cluster as separate processes over NATS", () => {
	const adminToken = randomBytes(32).toString("base64url");
	let smtp: TestSmtpServer;
	let dataDir: string;
	let base: string;
	let env: Record<string, string>;
	const nodes: Record<string, NodeProcess> = {};
	/** Secrets the processes saw: none may appear in any process's output. */
	const secrets: string[] = [adminToken];

	const start = (service: string) => {
		nodes[service] = startNode(`${service}-node`, service, env);
		return nodes[service];
	};

	beforeAll(async () => {
		buildOnce();
		smtp = await startSmtpServer();
		dataDir = tempDataDir("moleculer-cluster-");
		const port = await freePort();
		base = `http://127.0.0.1:${port}`;
		env = {
			TRANSPORTER: NATS_URL,
			NAMESPACE: uniqueNamespace("cluster"),
			DATA_DIR: dataDir,
			PORT: String(port),
			IP: "127.0.0.1",
			PUBLIC_URL: base,
			SMTP_URL: smtp.url,
			ADMIN_TOKEN: adminToken,
			// A quick "no" instead of the default 10 s wait while a node is gone.
			REQUEST_TIMEOUT: "3000",
			// No drain: a stopping gateway refuses new requests at once (the failover suite drains).
			GATEWAY_DRAIN_DELAY: "0",
			RATE_LIMIT_PUBLIC: "1000",
			PASSWORD_SCRYPT_N: "1024",
			LOGLEVEL: "info"
		};
		for (const service of ["tokens", "auth", "mail", "api"]) start(service);
		await eventually(
			async () => (await request(`${base}/ready`)).status === 200,
			30_000,
			"GET /ready = 200"
		);
	}, 90_000);

	afterAll(async () => {
		await Promise.all(Object.values(nodes).map(n => n.stop("SIGTERM")));
		await smtp?.close();
		if (dataDir) removeDir(dataDir);
	}, 30_000);

	const api = (path: string) => `${base}${path}`;
	const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
	/** A new API key of the session's user, over REST; kept among the secrets to look for. */
	const newApiKey = async (accessToken: string, name: string) => {
		const created = await postJson(api("/api/me/api-keys"), { name }, bearer(accessToken));
		expect(created.status).toBe(200);
		const token = (created.body as { token: string }).token;
		secrets.push(token);
		return token;
	};
	const mailLink = async (to: string, path: string) => {
		const mail = await smtp.waitFor(
			m => m.to.includes(to) && m.text.includes(`${path}?token=`)
		);
		const link = linkIn(mail, path);
		secrets.push(tokenOf(link));
		return link;
	};
	let apiKey: string;

	it("drives an account's whole life over HTTP, following the links in the mails", async () => {
		const email = "erin@example.test";
		const password = "erin's password 001";
		secrets.push(password, "erin's password 002");

		expect(
			await postJson(api("/api/auth/sign-up"), { username: "erin", email, password })
		).toMatchObject({
			status: 200,
			body: { user: { username: "erin", emailVerified: false } }
		});

		// The verification link: GET shows a button, only POST spends the token.
		const verify = await mailLink(email, "/verify-email");
		expect(verify.startsWith(`${base}/verify-email?token=`)).toBe(true);
		const page = await request(verify);
		expect(page.status).toBe(200);
		expect(
			(
				await request(api("/verify-email"), {
					method: "POST",
					form: { token: hiddenToken(page.text), password }
				})
			).status
		).toBe(200);

		const signIn = await postJson(api("/api/auth/sign-in"), { login: "erin", password });
		expect(signIn.status).toBe(200);
		const session = signIn.body as Session;
		secrets.push(session.accessToken, session.refreshToken);
		expect(
			await request(api("/api/me"), { headers: bearer(session.accessToken) })
		).toMatchObject({
			status: 200,
			body: { username: "erin", emailVerified: true }
		});

		apiKey = await newApiKey(session.accessToken, "laptop");
		expect((await request(api("/api/me"), { headers: { "x-api-key": apiKey } })).status).toBe(
			200
		);

		expect(
			(
				await postJson(
					api("/api/me/password"),
					{ currentPassword: password, newPassword: "erin's password 002" },
					bearer(session.accessToken)
				)
			).status
		).toBe(200);

		// Forgot password: the reset page asks twice, the POST spends the token.
		await postJson(api("/api/auth/forgot-password"), { email });
		const reset = await mailLink(email, "/reset-password");
		const form = await request(reset);
		expect(form.status).toBe(200);
		const done = await request(api("/reset-password"), {
			method: "POST",
			form: {
				token: hiddenToken(form.text),
				password: "erin's password 003",
				confirmPassword: "erin's password 003"
			}
		});
		expect(done.status).toBe(200);
		secrets.push("erin's password 003");

		// Magic link sign-in, then refresh and sign out.
		await postJson(api("/api/auth/magic-link"), { email });
		const magic = await mailLink(email, "/magic-link");
		const signInPage = await request(magic);
		const signedIn = await request(api("/magic-link"), {
			method: "POST",
			form: { token: hiddenToken(signInPage.text) }
		});
		expect(signedIn.status).toBe(200);
		// The page signs the browser in with cookies and shows no token.
		const cookie = (name: string) => setCookieValue(signedIn.headers, name)!;
		const [accessToken, refreshToken] = [cookie("mtk_access"), cookie("mtk_refresh")];
		expect(signedIn.text).not.toContain(refreshToken);
		secrets.push(accessToken, refreshToken);
		const refreshed = await postJson(api("/api/auth/refresh"), { refreshToken });
		expect(refreshed.status).toBe(200);
		const next = refreshed.body as Session;
		secrets.push(next.accessToken, next.refreshToken);
		expect(
			(await postJson(api("/api/auth/sign-out"), { refreshToken: next.refreshToken })).status
		).toBe(200);

		// Signing out ended the session: its access tokens are refused too.
		expect((await request(api("/api/me"), { headers: bearer(accessToken) })).status).toBe(401);

		// The reset was account recovery: the API key from before it is revoked; a new one works.
		expect((await request(api("/api/me"), { headers: bearer(apiKey) })).status).toBe(401);
		const again = await postJson(api("/api/auth/sign-in"), {
			login: "erin",
			password: "erin's password 003"
		});
		expect(again.status).toBe(200);
		const fresh = again.body as Session;
		secrets.push(fresh.accessToken, fresh.refreshToken);
		apiKey = await newApiKey(fresh.accessToken, "laptop, again");
		expect((await request(api("/api/me"), { headers: bearer(apiKey) })).status).toBe(200);
	}, 30_000);

	it("answers a quick 503 while the tokens node is down, and resumes without losing a token", async () => {
		expect(await nodes.tokens.stop("SIGTERM")).toEqual({ code: 0, signal: null });

		await eventually(
			async () => (await request(api("/ready"))).status === 503,
			10_000,
			"GET /ready = 503"
		);
		// A key checked in the last AUTH_CACHE_TTL (1 s) is still answered from auth's memory.
		await new Promise(r => setTimeout(r, 1100));
		const down = await request(api("/api/me"), { headers: bearer(apiKey) });
		expect(down).toMatchObject({
			status: 503,
			body: { code: 503, type: "SERVICE_UNAVAILABLE" }
		});
		expect(down.ms).toBeLessThan(3000);
		expect(down.text).not.toMatch(/tokens\.|auth\.|node/i);
		const admin = await request(api("/api/tokens?owner=x"), { headers: bearer(adminToken) });
		expect(admin).toMatchObject({ status: 503, body: { type: "SERVICE_UNAVAILABLE" } });
		expect(admin.ms).toBeLessThan(3000);

		// The same node again, on the same DATA_DIR.
		start("tokens");
		await eventually(
			async () => (await request(api("/ready"))).status === 200,
			20_000,
			"GET /ready = 200 again"
		);
		const me = await request(api("/api/me"), { headers: bearer(apiKey) });
		expect(me).toMatchObject({ status: 200, body: { username: "erin" } });
		expect(
			(
				await postJson(api("/api/auth/sign-in"), {
					login: "erin",
					password: "erin's password 003"
				})
			).status
		).toBe(200);
	}, 40_000);

	it("finishes a request in flight when the gateway gets SIGTERM, refuses new ones, exits 0", async () => {
		// Freeze the tokens node so an admin request stays in flight inside the gateway.
		nodes.tokens.child.kill("SIGSTOP");
		let inFlight: Promise<{ status: number; body: unknown }> | undefined;
		try {
			inFlight = request(api("/api/tokens?owner=erin"), { headers: bearer(adminToken) });
			await new Promise(r => setTimeout(r, 300));
			nodes.api.child.kill("SIGTERM");
			// Once the broker is stopping (right after SIGTERM), new requests are refused at once,
			// while the one in flight is still waiting for the frozen node.
			await eventually(
				async () => (await request(api("/health"))).status === 503,
				5000,
				"GET /health = 503 while stopping"
			);
			const refused = await request(api("/api/tokens?owner=erin"), {
				headers: bearer(adminToken)
			});
			expect(refused).toMatchObject({ status: 503, body: { code: 503 } });
			expect(refused.ms).toBeLessThan(1000);
		} finally {
			nodes.tokens.child.kill("SIGCONT");
		}
		const answer = await inFlight!;
		expect(answer.status).toBe(200);
		expect(Array.isArray(answer.body)).toBe(true);
		expect(await nodes.api.exited).toEqual({ code: 0, signal: null });
		await expect(fetch(api("/health"))).rejects.toThrow();
	}, 30_000);

	it("never wrote a token, password or credential to any process's output", () => {
		expect(secrets.length).toBeGreaterThan(10);
		for (const node of Object.values(nodes)) {
			const output = node.output();
			for (const secret of secrets) expect(output).not.toContain(secret);
		}
		expect(nodes.api.output()).toContain("/verify-email?token=<masked>");
	});
});
