/**
 * The security review's findings that show over HTTP, each as the request the reviewer sent: the
 * gateway with auth, mail, tokens and pools behind it, mail over real SMTP.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import type { ServiceSchema } from "moleculer";
import PoolsService from "../../../services/pools.service";
import { withSettings } from "../../helpers/broker";
import { authService } from "../../helpers/auth";
import { TEST_ADMIN_TOKEN, type MailingGateway, startMailingGateway } from "../../helpers/gateway";
import { postJson, request } from "../../helpers/http";

const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describe("security review over HTTP", () => {
	let gw: MailingGateway;

	beforeAll(async () => {
		gw = await startMailingGateway({
			services: [
				authService({
					requireVerifiedEmail: false
				}),
				dataDir => withSettings(PoolsService, { dataDir }) as unknown as ServiceSchema
			],
			settings: { rateLimit: { window: 60, public: 10_000, user: 10_000, admin: 10_000 } }
		});
	});

	afterAll(async () => {
		await gw?.stop();
	});

	const api = (path: string) => `${gw.url}${path}`;
	const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
		request(api(path), { method: "POST", headers, json });

	async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
		const started = process.hrtime.bigint();
		const value = await work();
		return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
	}

	describe("1. e-mail validation is bounded before any pattern runs", () => {
		// The largest body the routes accept is 16 kB: an "address" that fills it.
		const hostile = "@.".repeat(8000 - 20);

		it.each([
			["/api/auth/forgot-password", { email: hostile }],
			["/api/auth/magic-link", { email: hostile }],
			["/api/auth/resend-verification", { email: hostile }],
			[
				"/api/auth/sign-up",
				{ username: "hostile", email: hostile, password: "long enough password" }
			]
		])("%s answers 422 in milliseconds, and /health meanwhile", async (path, json) => {
			const [{ ms, value: res }, health] = await Promise.all([
				timed(() => post(path, json)),
				timed(() => request(api("/health")))
			]);
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ data: [expect.objectContaining({ field: "email" })] });
			expect(ms).toBeLessThan(500);
			expect(health.value.status).toBe(200);
			expect(health.ms).toBeLessThan(500);
		});
	});

	describe("4. an address is one bare mailbox", () => {
		it.each([
			"mallory@evil.example,ceo@corp.example",
			"ceo<mallory@evil.example>",
			"ceo@corp.example\u0000",
			"ceo@corp.example\u200b"
		])("refuses %j at sign-up, naming the field", async email => {
			const res = await post("/api/auth/sign-up", {
				username: `u${Math.random().toString(36).slice(2, 10)}`,
				email,
				password: "long enough password"
			});
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ data: [expect.objectContaining({ field: "email" })] });
		});

		it("stores the normalised address and mails exactly that one mailbox", async () => {
			const res = await post("/api/auth/sign-up", {
				username: "normalised",
				email: "Norma@Corp.EXAMPLE",
				password: "long enough password"
			});
			expect(res.status).toBe(200);
			expect(res.body).toMatchObject({ user: { email: "Norma@corp.example" } });
			const mail = await gw.smtp.waitFor(
				m => m.subject.includes("Confirm") && m.text.includes("normalised")
			);
			expect(mail.to).toEqual(["Norma@corp.example"]);
			expect(mail.headers.to).toBe("Norma@corp.example");
		});
	});

	describe("6. long URLs are refused cheaply", () => {
		it("answers 414 to a URL over the limit, fast, and /health keeps answering", async () => {
			const url = api(`/api/me?${"eyJ".repeat(5200)}`);
			const results = await Promise.all(
				Array.from({ length: 16 }, () => timed(() => request(url)))
			);
			for (const { value } of results) expect(value.status).toBe(414);
			const health = await timed(() => request(api("/health")));
			expect(health.value.status).toBe(200);
			expect(Math.max(...results.map(r => r.ms))).toBeLessThan(1000);
		});
	});

	describe("13. pool clients get a key scoped to one pool", () => {
		it("a pools:<name> key leases, keeps alive and unblocks in that pool only", async () => {
			const username = "poolclient";
			const password = "long enough password";
			const signedUp = await post("/api/auth/sign-up", {
				username,
				email: "poolclient@corp.example",
				password
			});
			const userId = (signedUp.body as { user: { id: string } }).user.id;
			await gw.broker.call("auth.setUserScopes", { userId, scopes: ["pools:alpha"] });
			const session = (await post("/api/auth/sign-in", { login: username, password }))
				.body as {
				accessToken: string;
			};
			const created = await post(
				"/api/me/api-keys",
				{ name: "pool client", scopes: ["pools:alpha"] },
				{ authorization: `Bearer ${session.accessToken}` }
			);
			expect(created.status).toBe(200);
			const key = { "x-api-key": (created.body as { token: string }).token };

			for (const pool of ["alpha", "beta"]) {
				await gw.broker.call("pools.configure", { pool, size: 2, leaseTime: 60 });
				expect((await post(`/api/pools/${pool}/generate-token`, {}, ADMIN)).status).toBe(
					201
				);
			}
			const leased = await post("/api/pools/alpha/assign-token", { clientId: "c1" }, key);
			expect(leased.status).toBe(200);
			const { token } = leased.body as { token: string };
			expect(
				(await post("/api/pools/alpha/keep-alive", { token, clientId: "c1" }, key)).status
			).toBe(200);
			expect(
				(await post("/api/pools/alpha/unblock-token", { token, clientId: "c1" }, key))
					.status
			).toBe(200);

			expect(
				(await post("/api/pools/beta/assign-token", { clientId: "c1" }, key)).status
			).toBe(403);
			expect((await post("/api/pools/alpha/generate-token", {}, key)).status).toBe(403);
			expect((await post("/api/pools/alpha/delete-token", { token }, key)).status).toBe(403);
			expect((await request(api("/api/pools/alpha"), { headers: key })).status).toBe(403);
			expect((await post("/api/tokens", { type: "api-key", owner: "x" }, key)).status).toBe(
				403
			);
		});
	});

	describe("14. smaller findings", () => {
		it("refuses __proto__ in a JSON body instead of taking it as the parameters' prototype", async () => {
			const res = await request(api("/api/auth/sign-in"), {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: '{"__proto__": {"login": "someone"}, "password": "whatever"}'
			});
			expect(res.status).toBe(422);
			expect(JSON.stringify(res.body)).toContain("__proto__");
		});

		it("keeps the embedded store's files for this user only", () => {
			for (const file of ["users.db", "tokens.db", "refresh_families.db"]) {
				expect(statSync(join(gw.dataDir, file)).mode & 0o777).toBe(0o600);
			}
			expect(statSync(gw.dataDir).mode & 0o777).toBe(0o700);
		});

		it("accepts ADMIN_TOKEN only as a Bearer token", async () => {
			expect((await request(api("/api/pools/alpha"), { headers: ADMIN })).status).toBe(200);
			const asKey = await request(api("/api/pools/alpha"), {
				headers: { "x-api-key": TEST_ADMIN_TOKEN }
			});
			expect(asKey.status).toBe(401);
		});

		it("refuses credentials in the query string of a POST", async () => {
			const res = await postJson(
				api("/api/auth/sign-in?login=poolclient&password=long%20enough%20password"),
				{}
			);
			expect(res.status).toBe(400);
			expect(res.body).toMatchObject({ type: "QUERY_NOT_ALLOWED" });
		});

		it("answers HEAD /health and HEAD /ready", async () => {
			const health = await request(api("/health"), { method: "HEAD" });
			expect(health.status).toBe(200);
			expect(health.text).toBe("");
			expect((await request(api("/ready"), { method: "HEAD" })).status).toBe(200);
		});
	});
});
