/**
 * Property-based tests of every REST route of the gateway (services/api/api.service.ts, described in
 * lib/http/openapi.ts) over real HTTP, with every service behind it on one broker: for any JSON body, raw
 * body, query string, path segment and headers (Authorization, X-API-Key, Content-Type,
 * X-Forwarded-For, valid or not) the answer is a 2xx or a 4xx, never a 5xx or a dropped connection;
 * an error is the small JSON body (or, on the mail-link pages, an HTML page). Afterwards the node is
 * healthy: /health answers, a sign-in and an admin call work.
 */
import fc from "fast-check";
import type { Context, ServiceSchema } from "moleculer";
import type { CreatedLink } from "../../../services/links.service";
import AuditService from "../../../services/audit.service";
import MailService from "../../../services/mail.service";
import PoolsService from "../../../services/pools.service";
import { buildOpenApiDocument } from "../../../lib/http/openapi";
import { allRoutes } from "../../../lib/http/route-table";
import { authService } from "../../helpers/auth";
import { withSettings } from "../../helpers/broker";
import {
	signUpUsers,
	startGateway,
	TEST_ADMIN_TOKEN,
	type TestGateway,
	linksAllowing
} from "../../helpers/gateway";
import { postJson, request } from "../../helpers/http";
import { anyKeyWith, anyValue } from "../../helpers/arbitraries";

/** Runs per route; PROPERTY_RUNS=2000 for a longer hunt. */
const RUNS = Number(process.env.PROPERTY_RUNS_API ?? 100);
const PASSWORD = "properties password 1";
const HIGH = { maxAttempts: 1_000_000, window: 900 };

/** Every route of the table (lib/http/route-table), as clients call it (`:name` segments are generated). */
const ROUTES: [string, string][] = allRoutes()
	.filter(r => r.method !== "HEAD")
	.map(r => [r.method, r.fullPath]);

/** Printable ASCII: what fetch accepts in a header value. */
const printable = (maxLength: number) =>
	fc.string({
		unit: fc.integer({ min: 0x20, max: 0x7e }).map(c => String.fromCharCode(c)),
		maxLength
	});
const anyKey = anyKeyWith(10, [
	"__proto__",
	"constructor",
	"$$strict",
	"$where",
	"a.b",
	"",
	"token",
	"client_id",
	"clientId",
	"pool",
	"owner",
	"password",
	"$params"
]);

/** One raw request; the body is read as text (HEAD answers have none). */
async function send(url: string, method: string, headers: Record<string, string>, body?: string) {
	const res = await fetch(url, { method, headers, body });
	return { status: res.status, headers: res.headers, text: await res.text() };
}

describe("api gateway: every route, property-based", () => {
	let gw: TestGateway;
	/** Live credentials and values, so valid-looking inputs reach the actions too. */
	const live = {
		jwt: "",
		refreshToken: "",
		apiKey: "",
		adminKey: "",
		poolToken: "",
		linkToken: "",
		keyId: ""
	};

	async function signIn(): Promise<{ accessToken: string; refreshToken: string }> {
		const res = await postJson(`${gw.url}/api/auth/sign-in`, {
			login: "prop",
			password: PASSWORD
		});
		expect(res.status).toBe(200);
		return res.body as { accessToken: string; refreshToken: string };
	}

	/** A fresh session and keys before each route: an earlier route may have ended them. */
	async function refreshCredentials(): Promise<void> {
		const session = await signIn();
		live.jwt = session.accessToken;
		live.refreshToken = session.refreshToken;
		const key = await gw.broker.call<{ key: { id: string }; token: string }, object>(
			"auth.createApiKey",
			{ name: "k" },
			{ meta: { user: await callerFor(live.jwt) } }
		);
		live.apiKey = key.token;
		live.keyId = key.key.id;
		const admin = await gw.broker.call<{ key: { id: string }; token: string }, object>(
			"auth.createApiKey",
			{ name: "admin", scopes: ["admin"] },
			{ meta: { user: await callerFor(live.jwt) } }
		);
		live.adminKey = admin.token;
		live.poolToken = (
			await gw.broker.call<{ token: string }, object>("pools.generate", { pool: "p" })
		).token;
		live.linkToken = (
			await gw.broker.call<CreatedLink, object>("links.create", {
				owner: "o",
				action: "echo.run",
				params: { n: 1 },
				multiUse: true,
				lockTimeout: 0
			})
		).token;
	}

	async function callerFor(jwt: string) {
		const { user } = await gw.broker.call<{ user: object }, object>("auth.resolveAccessToken", {
			token: jwt
		});
		return user;
	}

	beforeAll(async () => {
		gw = await startGateway({
			services: [
				authService({
					requireVerifiedEmail: false,
					maxApiKeys: 1_000_000,
					limits: { signIn: HIGH, address: HIGH, mail: HIGH }
				}),
				dataDir => withSettings(MailService, { dataDir }),
				dataDir => withSettings(AuditService, { dataDir }) as unknown as ServiceSchema,
				dataDir => withSettings(PoolsService, { dataDir }) as unknown as ServiceSchema,
				linksAllowing("echo.run"),
				() => ({
					name: "echo",
					actions: { run: (ctx: Context) => ({ ran: ctx.params }) }
				})
			],
			settings: { rateLimit: { window: 60, public: 1e6, user: 1e6, admin: 1e6 } }
		});
		gw.logs.lines.length = 0;
		await signUpUsers(gw, ["prop"], PASSWORD);
		const { user } = await gw.broker.call<{ user: { id: string } }, object>(
			"auth.resolveAccessToken",
			{ token: (await signIn()).accessToken }
		);
		await gw.broker.call("auth.setUserScopes", { userId: user.id, scopes: ["admin"] });
		await gw.broker.call("pools.configure", { pool: "p", size: 100000, leaseTime: 60 });
	});

	afterAll(async () => {
		await gw?.stop();
	});

	it("covers every path and method of the OpenAPI description", () => {
		const doc = buildOpenApiDocument("http://x") as { paths: Record<string, object> };
		const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
			Object.keys(item)
				.filter(m => ["get", "post", "put", "delete", "patch"].includes(m))
				.map(m => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`)
		);
		const tested = ROUTES.map(([m, p]) => `${m} ${p}`);
		expect(documented.filter(r => !tested.includes(r))).toEqual([]);
	});

	const segment = fc.oneof(
		fc.constantFrom("p", "..", "%", "%00", "%2F", "a%zz", "__proto__", "constructor", " ", "€"),
		fc.string({ minLength: 1, maxLength: 30 }).map(encodeURIComponent),
		fc.constant("@poolToken"),
		fc.constant("@linkToken"),
		fc.constant("@keyId")
	);
	const query = fc.oneof(
		fc.constant(""),
		fc
			.array(fc.tuple(anyKey, fc.string({ maxLength: 20 })), { maxLength: 4 })
			.map(entries => new URLSearchParams(entries).toString()),
		fc.constantFrom(
			"token=@linkToken",
			"token[]=a&token[]=b",
			"token[a][b][c]=1",
			"owner=prop&type=api-key",
			"owner[$ne]=x",
			"__proto__[admin]=1",
			"type=refresh&owner=",
			"%=%",
			"a=%E0%A4%A",
			"&&&==",
			`${"x=1&".repeat(100)}`
		)
	);
	const credential = fc.constantFrom(
		"none",
		"admin",
		"jwt",
		"apiKey",
		"adminKey",
		"xApiKey",
		"garbage",
		"garbageApiKey"
	);
	const contentType = fc.oneof(
		fc.constantFrom(
			undefined,
			"application/json",
			"application/json; charset=utf-8",
			"application/json; charset=utf-16",
			"application/json; charset=bogus",
			"text/plain",
			"application/x-www-form-urlencoded",
			"multipart/form-data; boundary=x",
			"application/*+json"
		),
		printable(40)
	);
	const body = fc.oneof(
		{
			weight: 4,
			arbitrary: fc.dictionary(anyKey, anyValue, { maxKeys: 5 }).map(v => JSON.stringify(v))
		},
		{ weight: 2, arbitrary: anyValue.map(v => JSON.stringify(v)) },
		{
			weight: 1,
			arbitrary: fc.constantFrom(
				"",
				"{",
				"null",
				'{"__proto__":{"admin":true}}',
				'{"token":"@linkToken"}',
				'{"token":"@poolToken","client_id":"a"}',
				"token=@linkToken",
				"login=prop&password=x",
				"[".repeat(5000),
				"x".repeat(20_000)
			)
		},
		{ weight: 1, arbitrary: fc.string({ maxLength: 100 }) }
	);
	const headers = fc.record({
		credential,
		authorization: fc.option(
			fc.oneof(
				printable(60),
				printable(60).map(v => `Bearer ${v}`),
				printable(40).map(v => `Bearer mtk_${v}`)
			),
			{ nil: undefined }
		),
		forwardedFor: fc.option(
			fc.oneof(printable(40), fc.constantFrom("1.2.3.4", "::1, 10.0.0.1", "unknown, ,")),
			{ nil: undefined }
		),
		contentType
	});
	const method = (own: string) =>
		fc.oneof(
			{ weight: 6, arbitrary: fc.constant(own) },
			{
				weight: 1,
				arbitrary: fc.constantFrom(
					"GET",
					"POST",
					"PUT",
					"DELETE",
					"PATCH",
					"HEAD",
					"OPTIONS"
				)
			}
		);

	const fill = (text: string) =>
		text
			.replaceAll("@linkToken", live.linkToken)
			.replaceAll("@poolToken", live.poolToken)
			.replaceAll("@keyId", live.keyId);

	it.each(ROUTES)(
		"%s %s answers 2xx or 4xx for any input, never 5xx",
		async (ownMethod, path) => {
			await refreshCredentials();
			await fc.assert(
				fc.asyncProperty(
					method(ownMethod),
					fc.array(segment, { minLength: 2, maxLength: 2 }),
					query,
					headers,
					body,
					async (m, [first, second], q, h, b) => {
						const segments = [first, second].map(fill);
						let i = 0;
						const url = `${gw.url}${path.replace(/:\w+/g, () => segments[i++])}${q ? `?${fill(q)}` : ""}`;
						const sent: Record<string, string> = {};
						const cred = {
							none: undefined,
							admin: `Bearer ${TEST_ADMIN_TOKEN}`,
							jwt: `Bearer ${live.jwt}`,
							apiKey: `Bearer ${live.apiKey}`,
							adminKey: `Bearer ${live.adminKey}`,
							xApiKey: undefined,
							garbage: h.authorization,
							garbageApiKey: undefined
						}[h.credential];
						if (cred !== undefined) sent.authorization = cred;
						if (h.credential === "xApiKey") sent["x-api-key"] = live.apiKey;
						if (h.credential === "garbageApiKey" && h.authorization !== undefined) {
							sent["x-api-key"] = h.authorization;
						}
						if (h.forwardedFor !== undefined) sent["x-forwarded-for"] = h.forwardedFor;
						if (h.contentType !== undefined) sent["content-type"] = h.contentType;
						const withBody = m !== "GET" && m !== "HEAD";
						const res = await send(url, m, sent, withBody ? fill(b) : undefined);
						if (res.status >= 500) {
							throw new Error(
								`${m} ${url} → ${res.status} ${res.text.slice(0, 300)}`
							);
						}
						expect(res.status).toBeGreaterThanOrEqual(200);
						const json = (res.headers.get("content-type") ?? "").includes("json");
						if (res.status >= 400 && json && m !== "HEAD") {
							expect(JSON.parse(res.text)).toMatchObject({
								code: res.status,
								type: expect.any(String)
							});
						}
					}
				),
				{ numRuns: RUNS }
			);
		},
		60_000
	);

	it("the node is healthy afterwards: /health, a sign-in and an admin call work, nothing failed in the log", async () => {
		expect((await request(`${gw.url}/health`)).status).toBe(200);
		expect((await request(`${gw.url}/ready`)).status).toBe(200);
		await signIn();
		const admin = await postJson(
			`${gw.url}/api/tokens`,
			{ type: "verification", owner: "after" },
			{ authorization: `Bearer ${TEST_ADMIN_TOKEN}` }
		);
		expect(admin.status).toBe(200);
		expect(gw.logs.text()).not.toMatch(/Request failed|INTERNAL_ERROR|Unhandled/);
	});
});
