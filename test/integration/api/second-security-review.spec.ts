/**
 * The second security review's findings that show over HTTP, each as the request the reviewer sent,
 * on both stores: the embedded one and PostgreSQL (where U+0000 and lone surrogates used to answer
 * 500 and open the circuit breaker on `auth.signIn` for everyone).
 */
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import MailService from "../../../services/mail.service";
import { withSettings } from "../../helpers/broker";
import { authService } from "../../helpers/auth";
import { startSmtpServer, type TestSmtpServer } from "../../helpers/smtp";
import { startGateway, storeOn, type TestGateway } from "../../helpers/gateway";
import { request, type Answer } from "../../helpers/http";
import { postgresKinds } from "../../helpers/postgres";

/** Records every circuit the broker opens, so a suite can assert that none did. */
export function breakerWatch(broker: ServiceBroker): { opened: unknown[] } {
	const watch = { opened: [] as unknown[] };
	broker.createService({
		name: "breaker-watch",
		events: {
			"$circuit-breaker.opened"(ctx: Context) {
				watch.opened.push(ctx.params);
			}
		}
	} as ServiceSchema);
	return watch;
}

const kinds = ["nedb" as const, ...postgresKinds<"postgres">("the second security review")];

describe.each(kinds)("second security review over HTTP, on %s", kind => {
	let smtp: TestSmtpServer;
	let gw: TestGateway;
	let watch: { opened: unknown[] };
	let session: { accessToken: string };
	const password = "long enough password";

	beforeAll(async () => {
		smtp = await startSmtpServer();
		gw = await startGateway({
			services: [
				authService({ requireVerifiedEmail: false }),
				() => withSettings(MailService, { smtpUrl: smtp.url })
			],
			storeSettings: storeOn(kind),
			settings: { rateLimit: { window: 60, public: 10_000, user: 10_000, admin: 10_000 } }
		});
		watch = breakerWatch(gw.broker);
		await gw.broker.waitForServices(["breaker-watch"]);
		await post("/api/auth/sign-up", {
			username: "reviewed",
			email: "reviewed@corp.example",
			password
		});
		session = (await post("/api/auth/sign-in", { login: "reviewed", password })).body as {
			accessToken: string;
		};
	});

	afterAll(async () => {
		await gw?.stop();
		await smtp?.close();
	});

	const api = (path: string) => `${gw.url}${path}`;
	function post(path: string, json: unknown, headers: Record<string, string> = {}) {
		return request(api(path), { method: "POST", headers, json });
	}
	const bearer = () => ({ authorization: `Bearer ${session.accessToken}` });

	function expectFieldRefused(res: Answer, field: string) {
		expect(res.status).toBe(422);
		expect(res.body).toMatchObject({ data: [expect.objectContaining({ field })] });
		expect(res.text).not.toContain("\\u0000");
	}

	describe("1. text no store can keep is the caller's error, never the service's", () => {
		it("refuses U+0000 in a sign-in's login with 422, 100 times, and sign-in stays open", async () => {
			const hostile = await Promise.all(
				Array.from({ length: 100 }, () =>
					post(
						"/api/auth/sign-in",
						{ login: "x\u0000", password: "whatever-pass" },
						{ "x-forwarded-for": "198.51.100.7" }
					)
				)
			);
			for (const res of hostile) expectFieldRefused(res, "login");
			const legit = await post("/api/auth/sign-in", { login: "reviewed", password });
			expect(legit.status).toBe(200);
			expect(watch.opened).toEqual([]);
		});

		it.each([
			["name", { name: "n\u0000" }],
			["name", { name: "n\ud800" }],
			["metadata.a", { name: "k", metadata: { a: "\u0000" } }],
			["metadata.b[0]", { name: "k", metadata: { b: ["\udc00x"] } }],
			["metadata", { name: "k", metadata: { "\u0000": 1 } }]
		])("refuses an API key whose %s is not storable text", async (field, json) => {
			const res = await post("/api/me/api-keys", json, bearer());
			expectFieldRefused(res, field);
		});

		it("refuses U+0000 in a path parameter", async () => {
			const res = await request(api("/api/me/sessions/%00"), {
				method: "DELETE",
				headers: bearer()
			});
			expectFieldRefused(res, "id");
		});

		it("keeps 4-byte characters, RTL marks and non-ASCII text as they are", async () => {
			const name = "clé 🔑 \u200f\u05e9\u05dc\u05d5\u05dd";
			const res = await post(
				"/api/me/api-keys",
				{ name, metadata: { note: name } },
				bearer()
			);
			expect(res.status).toBe(200);
			expect(res.body).toMatchObject({ key: { name, data: { metadata: { note: name } } } });
		});

		it("opened no circuit breaker in all of the above", () => {
			expect(watch.opened).toEqual([]);
		});
	});
});
