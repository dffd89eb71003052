/**
 * The `api` gateway over real HTTP (Node's fetch) on an ephemeral port, in front of a real broker with
 * `tokens` and `links` (auth and mail suites: api-auth.spec.ts).
 */
import type { Context, ServiceSchema } from "moleculer";
import LinksService from "../../../services/links.service";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import { buildOpenApiDocument } from "../../../lib/http/openapi";
import { withSettings } from "../../helpers/broker";
import { startGateway, TEST_ADMIN_TOKEN, type TestGateway } from "../../helpers/gateway";
import { postJson, request } from "../../helpers/http";

type Generated = TokenEntity & { token: string };

const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

function linksService(dataDir: string): ServiceSchema {
	return withSettings(LinksService, {
		dataDir,
		allowedActions: ["newsletter.subscribe"]
	}) as unknown as ServiceSchema;
}

function newsletterService(calls: unknown[]): () => ServiceSchema {
	return () => ({
		name: "newsletter",
		actions: {
			subscribe(ctx: Context<{ list: string }>) {
				calls.push(ctx.params);
				return { subscribed: ctx.params.list };
			}
		}
	});
}

describe("api gateway", () => {
	let gw: TestGateway;
	const subscriptions: unknown[] = [];

	beforeAll(async () => {
		gw = await startGateway({
			services: [linksService, newsletterService(subscriptions)],
			settings: {
				corsOrigins: ["https://app.example"],
				bodyLimit: "1kb"
			}
		});
	});

	afterAll(() => gw.stop());

	const generate = (params: Record<string, unknown>) =>
		gw.broker.call<Generated, Record<string, unknown>>("tokens.generate", params);

	describe("probes and errors", () => {
		it("answers /health, and /ready 503 naming auth while auth is missing", async () => {
			expect(await request(`${gw.url}/health`)).toMatchObject({
				status: 200,
				body: { status: "ok" }
			});
			const ready = await request(`${gw.url}/ready`);
			expect(ready).toMatchObject({
				status: 503,
				body: { ready: false, services: { tokens: true, auth: false } }
			});
		});

		it("answers an unknown route 404 with a small JSON body", async () => {
			const res = await request(`${gw.url}/api/nothing-here`);
			expect(res.status).toBe(404);
			expect(res.body).toEqual({
				name: "NotFoundError",
				message: "Not found",
				code: 404,
				type: "NOT_FOUND"
			});
			expect(res.headers.get("cache-control")).toBe("no-store");
		});

		it("answers 503 quickly, once, when the service behind a route is missing", async () => {
			const before = gw.logs.lines.filter(l =>
				l.includes("=> POST /api/auth/sign-in")
			).length;
			const started = Date.now();
			const res = await postJson(`${gw.url}/api/auth/sign-in`, { login: "a", password: "b" });
			expect(Date.now() - started).toBeLessThan(2000);
			expect(res).toMatchObject({
				status: 503,
				body: { code: 503, type: "SERVICE_UNAVAILABLE" }
			});
			expect(res.text).not.toMatch(/auth\.signIn|stack|node/i);
			// The request was handled once: the broker's retry policy does not re-run HTTP requests.
			const after = gw.logs.lines.filter(l => l.includes("=> POST /api/auth/sign-in")).length;
			expect(after - before).toBe(1);
		});

		it("answers 422 naming the fields, never the rejected values", async () => {
			const secret = "mtv_thisLooksLikeASecretValue0123456789";
			const res = await postJson(
				`${gw.url}/api/tokens`,
				{ type: secret, owner: ["x"], extra: secret },
				ADMIN
			);
			expect(res.status).toBe(422);
			const fields = (res.body as { data: { field: string }[] }).data.map(d => d.field);
			expect(fields).toEqual(expect.arrayContaining(["type", "owner", "extra"]));
			expect(res.text).not.toContain(secret);
		});

		it("answers a malformed body 400 and an oversized one 413, without echoing them", async () => {
			const bad = await request(`${gw.url}/api/tokens`, {
				method: "POST",
				headers: { ...ADMIN, "content-type": "application/json" },
				body: '{"token": "mtk_secretInBrokenJson'
			});
			expect(bad).toMatchObject({ status: 400, body: { type: "INVALID_BODY" } });
			expect(bad.text).not.toContain("mtk_secret");
			const big = await postJson(
				`${gw.url}/api/tokens`,
				{ type: "api-key", owner: "u", name: "x".repeat(2000) },
				ADMIN
			);
			expect(big).toMatchObject({ status: 413, body: { type: "PAYLOAD_TOO_LARGE" } });
		});

		it("never runs an action for an OPTIONS request", async () => {
			const res = await request(`${gw.url}/api/tokens?owner=u`, {
				method: "OPTIONS",
				headers: ADMIN
			});
			expect(res.status).toBe(204);
			expect(res.text).toBe("");
		});
	});

	describe("token administration", () => {
		it("refuses requests without credentials or with wrong ones (401)", async () => {
			const attempts: Record<string, string>[] = [
				{},
				{ authorization: "Bearer not-the-admin-token" },
				{ authorization: `Basic ${Buffer.from("admin:x").toString("base64")}` },
				{ authorization: `Bearer ${TEST_ADMIN_TOKEN}x` },
				{ authorization: `Bearer ${TEST_ADMIN_TOKEN} extra` }
			];
			for (const headers of attempts) {
				const res = await request(`${gw.url}/api/tokens?owner=u1`, { headers });
				expect(res.status).toBe(401);
				expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
				expect(res.body).toMatchObject({ code: 401 });
			}
		});

		it("serves generate, check, remove, list and remove-by-owner to the admin token", async () => {
			const created = await postJson(
				`${gw.url}/api/tokens`,
				{ type: "verification", owner: "rest-user", expiry: 600 },
				ADMIN
			);
			expect(created.status).toBe(200);
			const token = (created.body as Generated).token;
			expect(token).toMatch(/^mtv_/);

			const checked = await postJson(
				`${gw.url}/api/tokens/check`,
				{ type: "verification", token, owner: "rest-user" },
				ADMIN
			);
			expect(checked).toMatchObject({ status: 200, body: { owner: "rest-user" } });

			const list = await request(`${gw.url}/api/tokens?owner=rest-user`, {
				headers: ADMIN
			});
			expect(list.status).toBe(200);
			expect(list.body).toHaveLength(1);
			expect(list.text).not.toContain(token);

			const removed = await postJson(
				`${gw.url}/api/tokens/remove`,
				{ type: "verification", token },
				ADMIN
			);
			expect(removed).toMatchObject({ status: 200, body: { owner: "rest-user" } });
			const again = await postJson(
				`${gw.url}/api/tokens/check`,
				{ type: "verification", token },
				ADMIN
			);
			// `null` answers as an empty 200 (moleculer-web sends no body for null).
			expect(again).toMatchObject({ status: 200, text: "" });

			await generate({ type: "api-key", owner: "rest-user" });
			await generate({ type: "refresh", owner: "rest-user" });
			const byOwner = await request(`${gw.url}/api/tokens?owner=rest-user&type=api-key`, {
				method: "DELETE",
				headers: ADMIN
			});
			expect(byOwner).toMatchObject({ status: 200, body: { removed: 1 } });
			const left = await request(`${gw.url}/api/tokens?owner=rest-user`, { headers: ADMIN });
			expect((left.body as TokenEntity[]).map(t => t.type)).toEqual(["refresh"]);
		});

		it("answers 503 to an API key while auth, which resolves keys, is down; ADMIN_TOKEN still works", async () => {
			const key = await generate({ type: "api-key", owner: "ops", scopes: ["admin"] });
			for (const headers of [
				{ authorization: `Bearer ${key.token}` },
				{ "x-api-key": key.token }
			] as Record<string, string>[]) {
				const res = await request(`${gw.url}/api/tokens?owner=ops`, { headers });
				expect(res).toMatchObject({ status: 503, body: { type: "SERVICE_UNAVAILABLE" } });
			}
			expect(
				(await request(`${gw.url}/api/tokens?owner=ops`, { headers: ADMIN })).status
			).toBe(200);
		});

		it("keeps ADMIN_TOKEN out of what the node tells the cluster about its services", () => {
			const info = (
				gw.broker.registry as unknown as { getLocalNodeInfo(force: boolean): unknown }
			).getLocalNodeInfo(true);
			const text = JSON.stringify(info);
			expect(text).toContain('"name":"api"');
			expect(text).not.toContain(TEST_ADMIN_TOKEN);
		});

		it("never takes a JWT on its own word: only auth may call it an admin's session", async () => {
			// Its claims say "admin"; the gateway does not read them. No auth runs here: 503.
			const jwtShaped = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1Iiwic2NvcGVzIjpbImFkbWluIl19.c2ln";
			const res = await request(`${gw.url}/api/tokens?owner=x`, {
				headers: { authorization: `Bearer ${jwtShaped}` }
			});
			expect(res.status).toBe(503);
		});
	});

	describe("CORS", () => {
		it("answers a preflight from an allowed origin, and refuses other origins", async () => {
			const allowed = await request(`${gw.url}/api/auth/sign-in`, {
				method: "OPTIONS",
				headers: {
					origin: "https://app.example",
					"access-control-request-method": "POST",
					"access-control-request-headers": "content-type"
				}
			});
			expect(allowed.status).toBe(204);
			expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
			expect(allowed.headers.get("access-control-allow-headers")).toContain("X-API-Key");

			const other = await request(`${gw.url}/api/auth/sign-in`, {
				method: "OPTIONS",
				headers: { origin: "https://evil.example", "access-control-request-method": "POST" }
			});
			expect(other.status).toBe(403);
			expect(other.headers.get("access-control-allow-origin")).toBeNull();
		});

		it("sends CORS headers on real responses to an allowed origin", async () => {
			const res = await request(`${gw.url}/api/tokens?owner=x`, {
				headers: { ...ADMIN, origin: "https://app.example" }
			});
			expect(res.status).toBe(200);
			expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
		});
	});

	describe("mail-link pages", () => {
		const pageHeaders = (headers: Headers) => ({
			type: headers.get("content-type"),
			cache: headers.get("cache-control"),
			referrer: headers.get("referrer-policy"),
			csp: headers.get("content-security-policy")
		});

		it("shows an action link's confirm page on GET without spending it; POST spends it once", async () => {
			const link = await gw.broker.call<{ token: string; url: string }, object>(
				"links.create",
				{ owner: "u1", action: "newsletter.subscribe", params: { list: "news" } }
			);
			const path = new URL(link.url).pathname;

			for (let i = 0; i < 3; i++) {
				const get = await request(`${gw.url}${path}`);
				expect(get.status).toBe(200);
				expect(get.text).toContain('<form method="post" action="/token">');
				expect(get.text).toContain(`name="token" value="${link.token}"`);
				// The action's label, if it registered one, never its internal name.
				expect(get.text).not.toContain("newsletter.subscribe");
				expect(pageHeaders(get.headers)).toMatchObject({
					type: "text/html; charset=utf-8",
					cache: "no-store",
					referrer: "no-referrer",
					csp: expect.stringContaining("default-src 'none'")
				});
			}
			expect(subscriptions).toHaveLength(0);
			expect(await gw.broker.call("links.isValid", { token: link.token })).toBe(true);

			// The confirm page's button: a form POST with the token in a hidden field.
			const post = await request(`${gw.url}/token`, {
				method: "POST",
				headers: { "content-type": "application/x-www-form-urlencoded" },
				body: new URLSearchParams({ token: link.token }).toString()
			});
			expect(post.status).toBe(200);
			expect(post.text).toContain("<h1>Done</h1>");
			expect(subscriptions).toEqual([{ list: "news" }]);

			const again = await request(`${gw.url}${path}`, { method: "POST" });
			expect(again.status).toBe(404);
			expect(again.text).toContain("This link is not valid");
			expect(subscriptions).toHaveLength(1);
			expect((await request(`${gw.url}${path}`)).status).toBe(404);
		});

		it("does not spend a verification token on GET; the POST needs auth (503 page while it is down)", async () => {
			const t = await generate({ type: "verification", owner: "u9" });
			const get = await request(`${gw.url}/verify-email?token=${t.token}`);
			expect(get.status).toBe(200);
			expect(get.text).toContain('action="/verify-email"');
			expect(get.text).toContain(`value="${t.token}"`);
			const post = await request(`${gw.url}/verify-email`, {
				method: "POST",
				headers: { "content-type": "application/x-www-form-urlencoded" },
				body: `token=${t.token}`
			});
			expect(post.status).toBe(503);
			expect(post.headers.get("content-type")).toBe("text/html; charset=utf-8");
			expect(
				await gw.broker.call("tokens.check", { type: "verification", token: t.token })
			).not.toBeNull();
		});

		it("answers unknown or expired link tokens with an 'invalid link' page", async () => {
			for (const path of [
				"/verify-email?token=mtv_nope",
				"/magic-link?token=mtp_nope",
				"/reset-password?token=mtr_nope",
				"/reset-password",
				"/token/mta_nope"
			]) {
				const res = await request(`${gw.url}${path}`);
				expect([400, 404]).toContain(res.status);
				expect(res.text).toContain("This link is not valid");
			}
			// A token of another type is not a verification token.
			const reset = await generate({ type: "password-reset", owner: "u9" });
			expect((await request(`${gw.url}/verify-email?token=${reset.token}`)).status).toBe(400);
		});
	});

	describe("logs", () => {
		it("never contain a token, a credential or a password", async () => {
			gw.logs.lines.length = 0;
			const verification = await generate({ type: "verification", owner: "log-user" });
			const apiKey = await generate({
				type: "api-key",
				owner: "log-user",
				scopes: ["admin"]
			});
			const link = await gw.broker.call<{ token: string }, object>("links.create", {
				owner: "log-user",
				action: "newsletter.subscribe",
				params: { list: "l" }
			});
			const password = "correct horse battery staple 123";
			const secrets = [
				verification.token,
				apiKey.token,
				link.token,
				TEST_ADMIN_TOKEN,
				password
			];

			await request(`${gw.url}/verify-email?token=${verification.token}`);
			await request(`${gw.url}/token/${link.token}`);
			await request(`${gw.url}/token/${link.token}?token=${link.token}`, { method: "POST" });
			await request(`${gw.url}/api/tokens?owner=log-user`, {
				headers: { authorization: `Bearer ${apiKey.token}` }
			});
			await request(`${gw.url}/api/me`, {
				headers: { authorization: `Bearer ${apiKey.token}` }
			});
			await request(`${gw.url}/api/tokens?owner=log-user`, {
				headers: { "x-api-key": apiKey.token }
			});
			await postJson(
				`${gw.url}/api/tokens/check`,
				{ type: "verification", token: verification.token, isUsed: true },
				ADMIN
			);
			await postJson(
				`${gw.url}/api/tokens/check?token=${verification.token}`,
				{ type: "verification" },
				ADMIN
			);
			await postJson(`${gw.url}/api/auth/sign-in`, { login: "log-user", password });
			await request(`${gw.url}/reset-password`, {
				method: "POST",
				headers: { "content-type": "application/x-www-form-urlencoded" },
				body: new URLSearchParams({
					token: verification.token,
					password,
					confirmPassword: password
				}).toString()
			});

			const text = gw.logs.text();
			// The requests were logged...
			expect(text).toContain("=> GET /verify-email?token=<masked>");
			expect(text).toContain("=> GET /token/<masked>");
			expect(text).toContain("<= 503 GET /api/tokens?owner=log-user");
			// ...and no secret made it into any line.
			for (const secret of secrets) expect(text).not.toContain(secret);
			expect(text).not.toMatch(/authorization|x-api-key/i);
		});
	});

	describe("OpenAPI description", () => {
		it("is served, and every documented path and method is routed (never 404)", async () => {
			const served = await request(`${gw.url}/api/openapi.json`);
			expect(served.status).toBe(200);
			const doc = served.body as { servers: unknown; paths: unknown };
			expect(doc.servers).toEqual(buildOpenApiDocument("http://localhost:3000").servers);
			const paths = doc.paths as Record<string, Record<string, unknown>>;
			const checked: string[] = [];
			for (const [path, operations] of Object.entries(paths)) {
				for (const method of Object.keys(operations)) {
					// A live link for the action-link page (a made-up one answers 404 by contract).
					const link = await gw.broker.call<{ token: string }, object>("links.create", {
						owner: "openapi",
						action: "newsletter.subscribe",
						params: { list: "docs" }
					});
					const url = path.replace("{token}", link.token).replace(/\{[^}]+\}/g, "x");
					const res = await request(`${gw.url}${url}`, {
						method: method.toUpperCase(),
						headers: ADMIN,
						...(method === "get" || method === "delete" ? {} : { json: {} })
					});
					expect(`${method} ${path} ${res.status}`).not.toMatch(/ 404$/);
					checked.push(`${method} ${path}`);
				}
			}
			expect(checked.length).toBeGreaterThan(30);
		});
	});
});

describe("api gateway rate limits", () => {
	let gw: TestGateway;
	let proxied: TestGateway;

	beforeAll(async () => {
		const rateLimit = { window: 60, public: 3, user: 3, admin: 3 };
		[gw, proxied] = await Promise.all([
			startGateway({ settings: { rateLimit } }),
			startGateway({ settings: { rateLimit, trustProxy: "1" } })
		]);
	});

	afterAll(() => Promise.all([gw.stop(), proxied.stop()]));

	const signIn = (g: TestGateway, forwardedFor?: string) =>
		postJson(
			`${g.url}/api/auth/sign-in`,
			{ login: "a", password: "b" },
			forwardedFor ? { "x-forwarded-for": forwardedFor } : {}
		);

	it("answers 429 after the limit, however X-Forwarded-For is forged", async () => {
		const statuses: number[] = [];
		for (let i = 0; i < 6; i++) statuses.push((await signIn(gw, `198.51.100.${i}`)).status);
		expect(statuses.slice(0, 3)).toEqual([503, 503, 503]);
		expect(statuses.slice(3)).toEqual([429, 429, 429]);
		const limited = await signIn(gw, "203.0.113.77");
		expect(limited).toMatchObject({ status: 429, body: { code: 429 } });
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
		expect(limited.headers.get("x-rate-limit-remaining")).toBe("0");
	});

	it("limits the mail pages too (HTML 429) and admin credential guessing", async () => {
		for (let i = 0; i < 3; i++) await request(`${gw.url}/token/mta_guess${i}`);
		const page = await request(`${gw.url}/token/mta_guess9`);
		expect(page.status).toBe(429);
		expect(page.text).toContain("Too many requests");

		const guesses: number[] = [];
		for (let i = 0; i < 5; i++) {
			const res = await request(`${gw.url}/api/tokens?owner=x`, {
				headers: { authorization: `Bearer guess-${i}` }
			});
			guesses.push(res.status);
		}
		expect(guesses).toEqual([401, 401, 401, 429, 429]);
	});

	it("behind one trusted proxy, counts the address the proxy appended, not the forged ones", async () => {
		// The proxy appends the real client: 203.0.113.5. Forged entries before it do not matter.
		const statuses: number[] = [];
		for (let i = 0; i < 4; i++) {
			statuses.push((await signIn(proxied, `10.9.9.${i}, 203.0.113.5`)).status);
		}
		expect(statuses).toEqual([503, 503, 503, 429]);
		// Another client behind the same proxy has its own budget.
		expect((await signIn(proxied, "203.0.113.6")).status).toBe(503);
	});
});

describe("api gateway without CORS_ORIGINS", () => {
	let gw: TestGateway;

	beforeAll(async () => {
		gw = await startGateway();
	});

	afterAll(() => gw.stop());

	it("sends no CORS headers, so browsers keep other origins out", async () => {
		const preflight = await request(`${gw.url}/api/auth/sign-in`, {
			method: "OPTIONS",
			headers: { origin: "https://app.example", "access-control-request-method": "POST" }
		});
		expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
		const res = await request(`${gw.url}/api/tokens?owner=x`, {
			headers: { ...ADMIN, origin: "https://app.example" }
		});
		expect(res.status).toBe(200);
		expect(res.headers.get("access-control-allow-origin")).toBeNull();
	});
});
