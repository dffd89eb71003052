/**
 * An account's life through the gateway: real HTTP (Node's fetch) to `api` on an ephemeral port,
 * `auth`, `tokens` and `mail` behind it, mail delivered over SMTP to a real test server and its links
 * followed as a person would (GET the page, press the button).
 */
import { authService } from "../../helpers/auth";
import { linkIn, tokenOf } from "../../helpers/smtp";
import { TEST_ADMIN_TOKEN, type MailingGateway, startMailingGateway } from "../../helpers/gateway";
import { postJson, request, setCookieValue } from "../../helpers/http";
import { later } from "../../helpers/async";

interface Session {
	accessToken: string;
	refreshToken: string;
	tokenType: string;
	expiresIn: number;
}

const form = (fields: Record<string, string>) => ({
	method: "POST",
	headers: { "content-type": "application/x-www-form-urlencoded" },
	body: new URLSearchParams(fields).toString()
});

/** The hidden token of a page's form. */
function hiddenToken(html: string): string {
	const match = /<input type="hidden" name="token" value="([^"]+)">/.exec(html);
	if (!match) throw new Error("no hidden token on the page");
	return match[1];
}

describe("api gateway with auth and mail", () => {
	let gw: MailingGateway;
	/** Every secret the suite sees: none may appear in a log line. */
	const secrets: string[] = [TEST_ADMIN_TOKEN];

	beforeAll(async () => {
		gw = await startMailingGateway({
			services: [authService()],
			// The gateway's own per-address limit is tested in api.spec.ts; here it stays out of the way.
			settings: { rateLimit: { window: 60, public: 1000, user: 1000, admin: 1000 } }
		});
	});

	afterAll(async () => {
		await gw?.stop();
	});

	const api = (path: string) => `${gw.url}${path}`;
	/** A link from a mail, on this gateway (mails name PUBLIC_URL). */
	const onGateway = (link: string) => {
		const url = new URL(link);
		return api(url.pathname + url.search);
	};
	const mailWith = (to: string, path: string) =>
		gw.smtp.waitFor(m => m.to.includes(to) && m.text.includes(`${path}?token=`));
	const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
	const signIn = async (login: string, password: string) => {
		const res = await postJson(api("/api/auth/sign-in"), { login, password });
		if (res.status === 200) {
			const s = res.body as Session;
			secrets.push(s.accessToken, s.refreshToken);
		}
		return res;
	};

	it("is ready once tokens and auth answer", async () => {
		expect(await request(api("/ready"))).toMatchObject({
			status: 200,
			body: { ready: true, services: { tokens: true, auth: true } }
		});
	});

	it("signs up, confirms the address from the mail (GET does not spend, POST does), signs in", async () => {
		const password = "first password 0001";
		secrets.push(password);
		const signUp = await postJson(api("/api/auth/sign-up"), {
			username: "alice",
			email: "alice@example.test",
			password
		});
		expect(signUp).toMatchObject({ status: 200, body: { user: { username: "alice" } } });
		expect(signUp.text).not.toContain(password);

		const duplicate = await postJson(api("/api/auth/sign-up"), {
			username: "alice",
			email: "other@example.test",
			password
		});
		expect(duplicate).toMatchObject({ status: 409, body: { type: "ALREADY_EXISTS" } });

		const link = linkIn(await mailWith("alice@example.test", "/verify-email"), "/verify-email");
		secrets.push(tokenOf(link));
		// A mail scanner (or the reader) opens the link twice: nothing is spent.
		for (let i = 0; i < 2; i++) {
			const page = await request(onGateway(link));
			expect(page.status).toBe(200);
			expect(page.text).toContain("Confirm your e-mail address");
		}
		expect((await signIn("alice", password)).body).toMatchObject({
			code: 403,
			type: "EMAIL_NOT_VERIFIED"
		});
		const page = await request(onGateway(link));
		// The page asks for the sign-up password (optional): given, it is kept.
		expect(page.text).toContain('name="password"');
		const confirmed = await request(
			api("/verify-email"),
			form({ token: hiddenToken(page.text), password })
		);
		expect(confirmed.status).toBe(200);
		expect(confirmed.text).toContain("E-mail address confirmed");
		const again = await request(api("/verify-email"), form({ token: tokenOf(link) }));
		expect(again.status).toBe(400);
		expect(again.text).toContain("This link is not valid");

		const session = await signIn("alice@example.test", password);
		expect(session).toMatchObject({ status: 200, body: { tokenType: "Bearer" } });
		const me = await request(api("/api/me"), {
			headers: bearer((session.body as Session).accessToken)
		});
		expect(me).toMatchObject({
			status: 200,
			body: { username: "alice", emailVerified: true }
		});
		expect(me.text).not.toMatch(/passwordHash|scrypt/);
	});

	it("refuses /api/me without a credential or with a bad one (401)", async () => {
		for (const headers of [
			{},
			bearer("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm9wZQ"),
			bearer("mtk_notARealApiKey"),
			{ "x-api-key": "nope" },
			{ authorization: "Token abc" }
		] as Record<string, string>[]) {
			const res = await request(api("/api/me"), { headers });
			expect(res.status).toBe(401);
			expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
		}
	});

	it("creates, uses (Bearer mtk_… and X-API-Key), lists and revokes API keys", async () => {
		const session = (await signIn("alice", "first password 0001")).body as Session;
		const created = await postJson(
			api("/api/me/api-keys"),
			{ name: "ci" },
			bearer(session.accessToken)
		);
		expect(created.status).toBe(200);
		const { key, token } = created.body as { key: { id: string }; token: string };
		expect(token).toMatch(/^mtk_/);
		secrets.push(token);

		// The gateway answers /api/me from auth's resolution of the credential: the same body
		// auth.me gives, whichever credential is used.
		const { user } = await gw.broker.call<{ user: { id: string } }, object>(
			"auth.resolveApiKey",
			{ key: token }
		);
		const profile = await gw.broker.call("auth.me", {}, { meta: { user } });
		expect(profile).toMatchObject({ username: "alice" });
		for (const headers of [
			bearer(token),
			{ "x-api-key": token },
			bearer(session.accessToken)
		]) {
			const me = await request(api("/api/me"), { headers });
			expect(me).toMatchObject({ status: 200, body: profile });
			expect(me.body).toEqual(profile);
			expect(me.headers.get("cache-control")).toBe("no-store");
			expect(me.headers.get("content-type")).toMatch(/^application\/json/);
		}
		const list = await request(api("/api/me/api-keys"), { headers: bearer(token) });
		expect(list.status).toBe(200);
		expect(list.body).toEqual([expect.objectContaining({ id: key.id, name: "ci" })]);
		expect(list.text).not.toContain(token);

		// A user cannot grant what they do not have, and a user's key is no admin credential.
		const escalate = await postJson(
			api("/api/me/api-keys"),
			{ name: "root", scopes: ["admin"] },
			bearer(session.accessToken)
		);
		expect(escalate).toMatchObject({ status: 403, body: { type: "SCOPE_NOT_ALLOWED" } });
		expect((await request(api("/api/tokens?owner=x"), { headers: bearer(token) })).status).toBe(
			403
		);

		const revoked = await request(api(`/api/me/api-keys/${key.id}`), {
			method: "DELETE",
			headers: bearer(session.accessToken)
		});
		expect(revoked).toMatchObject({ status: 200, body: { ok: true } });
		expect((await request(api("/api/me"), { headers: bearer(token) })).status).toBe(401);
		const missing = await request(api(`/api/me/api-keys/${key.id}`), {
			method: "DELETE",
			headers: bearer(session.accessToken)
		});
		expect(missing).toMatchObject({ status: 404, body: { type: "NOT_FOUND" } });
	});

	it("takes an API key with the admin scope on admin routes, and stops when the owner loses it", async () => {
		const me = (await signIn("alice", "first password 0001")).body as Session & {
			user: { id: string };
		};
		await gw.broker.call("auth.setUserScopes", { userId: me.user.id, scopes: ["admin"] });
		const created = await postJson(
			api("/api/me/api-keys"),
			{ name: "ops", scopes: ["admin"] },
			bearer(me.accessToken)
		);
		expect(created.status).toBe(200);
		const { token } = created.body as { token: string };
		secrets.push(token);

		for (const headers of [bearer(token), { "x-api-key": token }] as Record<string, string>[]) {
			const res = await request(api(`/api/tokens?owner=${me.user.id}&type=api-key`), {
				headers
			});
			expect(res.status).toBe(200);
			expect(res.body).toEqual([expect.objectContaining({ name: "ops" })]);
		}
		// "last used" is recorded (written in batches, about a second later).
		const deadline = Date.now() + 5000;
		for (;;) {
			const [key] = await gw.broker.call<{ lastUsedAt: string | null }[], object>(
				"tokens.listByOwner",
				{ owner: me.user.id, type: "api-key" }
			);
			if (key.lastUsedAt !== null) break;
			if (Date.now() > deadline) throw new Error("lastUsedAt was never recorded");
			await new Promise(r => setTimeout(r, 100));
		}
		// An admin's session is an admin credential only with a second factor (user-admin.spec.ts).
		expect(
			(await request(api("/api/tokens?owner=x"), { headers: bearer(me.accessToken) })).body
		).toMatchObject({ type: "SECOND_FACTOR_REQUIRED" });

		await gw.broker.call("auth.setUserScopes", { userId: me.user.id, scopes: [] });
		const demoted = await request(api("/api/tokens?owner=x"), { headers: bearer(token) });
		expect(demoted).toMatchObject({ status: 403, body: { type: "FORBIDDEN" } });
	});

	it("changes the password with a session (not an API key); old sessions end", async () => {
		const session = (await signIn("alice", "first password 0001")).body as Session;
		const { token } = (
			await postJson(api("/api/me/api-keys"), { name: "temp" }, bearer(session.accessToken))
		).body as { token: string };
		secrets.push(token, "second password 0002");
		const body = {
			currentPassword: "first password 0001",
			newPassword: "second password 0002"
		};

		const withKey = await postJson(api("/api/me/password"), body, bearer(token));
		expect(withKey).toMatchObject({ status: 403, body: { type: "SESSION_REQUIRED" } });
		const weak = await postJson(
			api("/api/me/password"),
			{ ...body, newPassword: "short" },
			bearer(session.accessToken)
		);
		expect(weak.status).toBe(422);
		expect(weak.text).not.toContain('short"');
		const changed = await postJson(api("/api/me/password"), body, bearer(session.accessToken));
		expect(changed).toMatchObject({ status: 200, body: { ok: true } });
		expect(
			(await request(api("/api/me"), { headers: bearer(session.accessToken) })).status
		).toBe(401);
		expect((await signIn("alice", "second password 0002")).status).toBe(200);
	});

	it("resets a forgotten password from the mail: a rejected form keeps the token, the right one spends it", async () => {
		expect(
			await postJson(api("/api/auth/forgot-password"), { email: "alice@example.test" })
		).toMatchObject({ status: 200, body: { ok: true } });
		const link = linkIn(
			await mailWith("alice@example.test", "/reset-password"),
			"/reset-password"
		);
		secrets.push(tokenOf(link), "third password 0003");

		const page = await request(onGateway(link));
		expect(page.status).toBe(200);
		expect(page.text).toContain('name="confirmPassword"');
		const token = hiddenToken(page.text);

		const mismatch = await request(
			api("/reset-password"),
			form({ token, password: "third password 0003", confirmPassword: "typo password 0003" })
		);
		expect(mismatch.status).toBe(422);
		expect(mismatch.text).toContain("must match");
		expect(hiddenToken(mismatch.text)).toBe(token);
		expect(mismatch.text).not.toContain("third password 0003");

		const done = await request(
			api("/reset-password"),
			form({ token, password: "third password 0003", confirmPassword: "third password 0003" })
		);
		expect(done.status).toBe(200);
		expect(done.text).toContain("Password changed");
		expect((await signIn("alice", "second password 0002")).status).toBe(401);
		expect((await signIn("alice", "third password 0003")).status).toBe(200);
		const reuse = await request(
			api("/reset-password"),
			form({ token, password: "fourth password 004", confirmPassword: "fourth password 004" })
		);
		expect(reuse.status).toBe(400);
	});

	it("signs in with a magic link (GET shows the button, POST signs the browser in with cookies, never showing a token), refreshes, signs out", async () => {
		await postJson(api("/api/auth/magic-link"), { email: "alice@example.test" });
		const link = linkIn(await mailWith("alice@example.test", "/magic-link"), "/magic-link");
		secrets.push(tokenOf(link));
		const page = await request(onGateway(link));
		expect(page.status).toBe(200);
		expect(page.text).toContain('action="/magic-link"');

		const signedIn = await request(api("/magic-link"), form({ token: hiddenToken(page.text) }));
		expect(signedIn.status).toBe(200);
		expect(signedIn.headers.get("cache-control")).toBe("no-store");
		expect(signedIn.text).toContain("You are signed in");
		const cookie = (name: string) => setCookieValue(signedIn.headers, name)!;
		const [accessToken, refreshToken] = [cookie("mtk_access"), cookie("mtk_refresh")];
		secrets.push(accessToken, refreshToken);
		// The page shows no token: the browser holds them, HttpOnly.
		expect(signedIn.text).not.toContain(accessToken);
		expect(signedIn.text).not.toContain(refreshToken);
		expect(signedIn.text).not.toMatch(/NaN|`/);
		expect((await request(api("/api/me"), { headers: bearer(accessToken) })).status).toBe(200);
		expect((await request(api("/magic-link"), form({ token: tokenOf(link) }))).status).toBe(
			400
		);

		const refreshed = await postJson(api("/api/auth/refresh"), { refreshToken });
		expect(refreshed.status).toBe(200);
		const next = refreshed.body as Session;
		secrets.push(next.accessToken, next.refreshToken);
		// The spent refresh token is refused after the reuse interval (and revokes its family).
		const reused = await later(11_000, () =>
			postJson(api("/api/auth/refresh"), { refreshToken })
		);
		expect(reused.status).toBe(401);
		expect(
			await postJson(api("/api/auth/sign-out"), { refreshToken: next.refreshToken })
		).toMatchObject({ status: 200, body: { ok: true } });
	});

	it("passes the client's address to auth, which limits failed sign-ins per address", async () => {
		// AUTH_MAX_FAILURES_PER_ADDRESS defaults to 50: the 51st failure from one address is refused.
		const statuses = new Set<number>();
		for (let i = 0; i < 51; i++) {
			const res = await postJson(api("/api/auth/sign-in"), {
				login: `nobody${i}`,
				password: "wrong password 0000"
			});
			statuses.add(res.status);
			if (res.status === 429) break;
		}
		expect(statuses).toEqual(new Set([401, 429]));
		const limited = await postJson(api("/api/auth/sign-in"), {
			login: "alice",
			password: "third password 0003"
		});
		expect(limited).toMatchObject({ status: 429, body: { type: "TOO_MANY_ATTEMPTS" } });
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
	});

	it("never logs a token, a password or a session", () => {
		const text = gw.logs.text();
		expect(text).toContain("=> GET /verify-email?token=<masked>");
		expect(secrets.length).toBeGreaterThan(10);
		for (const secret of secrets) expect(text).not.toContain(secret);
	});
});
