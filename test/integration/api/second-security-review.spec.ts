/**
 * The second security review's findings that show over HTTP, each as the request the reviewer sent,
 * on both stores: the embedded one and PostgreSQL (where U+0000 and lone surrogates used to answer
 * 500 and open the circuit breaker on `auth.signIn` for everyone).
 */
import type { Context, ServiceSchema } from "moleculer";
import { breakerWatch } from "../../helpers/broker";
import { authService } from "../../helpers/auth";
import {
	storeOn,
	TEST_ADMIN_TOKEN,
	type MailingGateway,
	startMailingGateway
} from "../../helpers/gateway";
import { allRoutes } from "../../../lib/http/route-table";
import { request, type Answer } from "../../helpers/http";
import { postgresKinds } from "../../helpers/postgres";
import { later } from "../../helpers/async";
import { linkIn, tokenOf } from "../../helpers/smtp";
import { base32Decode, hotp, totpStep } from "../../../lib/auth/totp";

const kinds = ["nedb" as const, ...postgresKinds<"postgres">("the second security review")];

describe.each(kinds)("second security review over HTTP, on %s", kind => {
	let gw: MailingGateway;
	let watch: { opened: unknown[] };
	let session: { accessToken: string };
	const password = "long enough password";

	beforeAll(async () => {
		gw = await startMailingGateway({
			services: [authService({ requireVerifiedEmail: false })],
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

	describe("5. no route that takes a secret takes a query string, in any letter case", () => {
		it.each([
			["POST", "/API/auth/sign-in?login=reviewed&password=long%20enough%20password"],
			["POST", "/api/AUTH/Sign-In?password=x"],
			["POST", "/API/me/password?currentPassword=a&newPassword=b"],
			["DELETE", "/api/me?password=long%20enough%20password"],
			["POST", "/oauth2/introspect?token=abc"],
			["POST", "/OAUTH2/revoke?token=abc"],
			["POST", "/api/auth/refresh/?refreshToken=abc"]
		])("%s %s answers 400 QUERY_NOT_ALLOWED", async (method, path) => {
			const res = await request(api(path), { method, headers: bearer(), json: {} });
			expect(res.status).toBe(400);
			expect(res.body).toMatchObject({ type: "QUERY_NOT_ALLOWED" });
		});

		it("still serves a query string on routes that take no secret", async () => {
			const res = await request(api("/api/tokens?owner=nobody&type=api-key"), {
				headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }
			});
			expect(res.status).toBe(200);
			expect(res.body).toEqual([]);
		});

		it("marks every route whose action takes a secret field", () => {
			const secretFields =
				/^(password|currentPassword|newPassword|token|refreshToken|code|recoveryCode|key|challenge)$/;
			for (const route of allRoutes().filter(r => r.action)) {
				const action = gw.broker.registry
					.getActionList({})
					.find(a => a.name === route.action);
				const params = Object.keys((action?.action as { params?: object })?.params ?? {});
				if (params.some(p => secretFields.test(p)))
					expect([route.fullPath, route.secret]).toEqual([route.fullPath, true]);
			}
		});
	});

	describe("8. introspection keeps a service-API subject's namespace", () => {
		it("answers subject:<name> for a subject named like a user's id", async () => {
			const account = await newAccount("namesake");
			const { user } = await gw.broker.call<{ user: { id: string } }, object>(
				"auth.resolveAccessToken",
				{ token: account.first.accessToken }
			);
			const issued = await gw.broker.call<
				{ accessToken: string; refreshToken: string },
				object
			>("auth.issueTokens", { subject: user.id });
			const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
			for (const token of [issued.accessToken, issued.refreshToken]) {
				const res = await request(api("/oauth2/introspect"), {
					method: "POST",
					headers: admin,
					form: { token }
				});
				expect(res.body).toMatchObject({ active: true, sub: `subject:${user.id}` });
			}
			const own = await request(api("/oauth2/introspect"), {
				method: "POST",
				headers: admin,
				form: { token: account.first.accessToken }
			});
			expect(own.body).toMatchObject({ active: true, sub: user.id });
		});
	});

	/** A new account signed in (a fresh session), with its bearer header and an API key. */
	async function newAccount(username: string) {
		const email = `${username}@corp.example`;
		await post("/api/auth/sign-up", { username, email, password });
		const signIn = () => post("/api/auth/sign-in", { login: username, password });
		const first = (await signIn()).body as { accessToken: string; refreshToken: string };
		const auth = { authorization: `Bearer ${first.accessToken}` };
		const made = await post(
			"/api/me/api-keys",
			{ name: "before", credits: { remaining: 5 } },
			auth
		);
		expect(made.status).toBe(200);
		const key = made.body as { key: { id: string }; token: string };
		return { username, email, signIn, first, auth, key };
	}

	/** Asks for a reset link and resets the password with it (to the same password). */
	async function resetByMail(account: { email: string }) {
		expect((await post("/api/auth/forgot-password", { email: account.email })).status).toBe(
			200
		);
		const mail = await gw.smtp.waitFor(
			m => m.to.includes(account.email) && m.subject.includes("Reset")
		);
		const token = tokenOf(linkIn(mail, "/reset-password"));
		return post("/api/auth/reset-password", { token, password, confirmPassword: password });
	}

	/** Enrols and confirms TOTP from `auth`; answers the code function. */
	async function turnTotpOn(auth: Record<string, string>, json: object = {}) {
		const enrol = await post("/api/me/totp", json, auth);
		expect(enrol.status).toBe(200);
		const secret = base32Decode((enrol.body as { secret: string }).secret);
		const code = (offset = 0) => hotp(secret, totpStep(Date.now()) + offset);
		const confirmed = await post("/api/me/totp/confirm", { code: code() }, auth);
		expect(confirmed.status).toBe(200);
		return code;
	}

	describe("2. changing or rerolling a key needs a session that passed TOTP, like creating one", () => {
		it("refuses reroll and update from the session that predates TOTP", async () => {
			const account = await newAccount("rerolltotp");
			await turnTotpOn(account.auth);
			const reroll = await post(
				`/api/me/api-keys/${account.key.key.id}/reroll`,
				{ overlap: 86400 },
				account.auth
			);
			expect(reroll.status).toBe(403);
			expect(reroll.body).toMatchObject({ type: "TOTP_REQUIRED" });
			const update = await request(api(`/api/me/api-keys/${account.key.key.id}`), {
				method: "PUT",
				headers: account.auth,
				json: { enabled: true, credits: { remaining: 1000 } }
			});
			expect(update.status).toBe(403);
			expect(update.body).toMatchObject({ type: "TOTP_REQUIRED" });
		});
	});

	describe("3. a stolen access token cannot add a second factor and lock the owner out", () => {
		it("needs a recent sign-in or the password to enrol", async () => {
			const account = await newAccount("stolentoken");
			const stale = await later(11 * 60_000, () => post("/api/me/totp", {}, account.auth));
			expect(stale.status).toBe(403);
			expect(stale.body).toMatchObject({ type: "RECENT_SIGN_IN_REQUIRED" });
			const wrong = await later(11 * 60_000, () =>
				post("/api/me/totp", { password: "not the password" }, account.auth)
			);
			expect(wrong.status).toBe(401);
			const nullPassword = await later(11 * 60_000, () =>
				post("/api/me/totp", { password: null }, account.auth)
			);
			expect(nullPassword.status).toBe(403);
			const withPassword = await later(11 * 60_000, () =>
				post("/api/me/totp", { password }, account.auth)
			);
			expect(withPassword.status).toBe(200);
		});

		it("ends the other sessions and mails the owner when TOTP goes on", async () => {
			const account = await newAccount("noticed");
			const other = (await account.signIn()).body as { refreshToken: string };
			await turnTotpOn(account.auth);
			const refreshed = await post("/api/auth/refresh", { refreshToken: other.refreshToken });
			expect(refreshed.status).toBe(401);
			const mail = await gw.smtp.waitFor(
				m => m.to.includes(account.email) && m.subject.includes("second factor was added")
			);
			expect(mail.text).not.toMatch(/https?:\/\//);
		});

		it("a password reset by mail soon after enrolment removes the factor and remembered devices", async () => {
			const account = await newAccount("takenback");
			await turnTotpOn(account.auth);
			expect((await account.signIn()).body).toMatchObject({ mfaRequired: true });
			const { user } = await gw.broker.call<{ user: { id: string } }, object>(
				"auth.resolveAccessToken",
				{ token: account.first.accessToken }
			);
			// A remembered device, as new-device verification leaves one.
			await gw.broker.call("tokens.generate", {
				type: "device",
				owner: user.id,
				expiry: 3600
			});
			const devices = () =>
				gw.broker.call<unknown[], object>("tokens.listByOwner", {
					owner: user.id,
					type: "device"
				});
			expect(await devices()).toHaveLength(1);
			expect((await resetByMail(account)).status).toBe(200);
			const after = await account.signIn();
			expect(after.status).toBe(200);
			expect(after.body).toMatchObject({ accessToken: expect.any(String) });
			expect(await devices()).toEqual([]);
		});

		it("a reset long after enrolment leaves the factor on", async () => {
			const account = await newAccount("keptfactor");
			await turnTotpOn(account.auth);
			await later(4 * 86400_000, async () => {
				expect((await resetByMail(account)).status).toBe(200);
				expect((await account.signIn()).body).toMatchObject({ mfaRequired: true });
			});
		});
	});

	describe("7. a reroll neither passes the key cap nor adds uses", () => {
		it("shares one credit balance between the old and the new key during the overlap", async () => {
			const account = await newAccount("sharedcredits");
			let token = account.key.token;
			const tokens = [token];
			for (let i = 0; i < 4; i++) {
				const id = (
					await gw.broker.call<{ id: string }[], object>("tokens.listByOwner", {
						owner: (
							await gw.broker.call<{ owner: string }, object>("auth.verifyKey", {
								key: token
							})
						).owner,
						type: "api-key"
					})
				).at(-1)!.id;
				const rerolled = await post(
					`/api/me/api-keys/${id}/reroll`,
					{ overlap: 3600 },
					account.auth
				);
				expect(rerolled.status).toBe(200);
				token = (rerolled.body as { token: string }).token;
				tokens.push(token);
			}
			// 5 live keys, 5 credits between them (one was spent by the verifyKey calls above).
			let passed = 0;
			for (const t of tokens) {
				for (let i = 0; i < 5; i++) {
					const res = await request(api("/api/me"), { headers: { "x-api-key": t } });
					if (res.status === 200) passed++;
				}
			}
			expect(passed).toBeLessThanOrEqual(5);
		});

		it("refuses a reroll with overlap at the key cap, and allows one without", async () => {
			const account = await newAccount("atthecap");
			for (let i = 1; i < 50; i++) {
				expect(
					(await post("/api/me/api-keys", { name: `k${i}` }, account.auth)).status
				).toBe(200);
			}
			const id = account.key.key.id;
			const overlapping = await post(
				`/api/me/api-keys/${id}/reroll`,
				{ overlap: 600 },
				account.auth
			);
			expect(overlapping.status).toBe(409);
			expect(overlapping.body).toMatchObject({ type: "TOO_MANY_KEYS" });
			const replacing = await post(
				`/api/me/api-keys/${id}/reroll`,
				{ overlap: 0 },
				account.auth
			);
			expect(replacing.status).toBe(200);
			const listed = await request(api("/api/me/api-keys"), { headers: account.auth });
			expect((listed.body as unknown[]).length).toBe(50);
		});
	});

	describe("6. sessions per user are capped and paged, and ending them is cheap", () => {
		it("keeps at most 100 sessions (the oldest end first), pages the list, and ends all in one event", async () => {
			const account = await newAccount("manysessions");
			const events: { name: string; payload: unknown }[] = [];
			const recorder = gw.broker.createService({
				name: `recorder-${kind}`,
				events: {
					"tokens.removed*"(ctx: Context) {
						events.push({ name: ctx.eventName!, payload: ctx.params });
					}
				}
			} as ServiceSchema);
			await gw.broker.waitForServices([recorder.name]);
			const sessions: { accessToken: string }[] = [];
			for (let i = 0; i < 130; i++) {
				sessions.push((await account.signIn()).body as { accessToken: string });
			}
			const newest = { authorization: `Bearer ${sessions.at(-1)!.accessToken}` };
			const first = await request(api("/api/me/sessions?limit=60"), { headers: newest });
			expect(first.status).toBe(200);
			const page1 = first.body as { id: string }[];
			expect(page1).toHaveLength(60);
			const rest = await request(api(`/api/me/sessions?after=${page1[59].id}`), {
				headers: newest
			});
			const page2 = rest.body as { id: string; current: boolean }[];
			expect(page2).toHaveLength(40);
			expect(page2.at(-1)!.current).toBe(true);
			// The oldest (the one that made the key, and 30 more) were ended.
			expect((await request(api("/api/me/sessions"), { headers: account.auth })).status).toBe(
				401
			);

			const one = await request(api(`/api/me/sessions/${page1[0].id}`), {
				method: "DELETE",
				headers: newest
			});
			expect(one.status).toBe(200);
			const everywhere = await post("/api/me/sign-out-everywhere", {}, newest);
			expect(everywhere.status).toBe(200);
			await new Promise(r => setImmediate(r));
			// Every refresh token the user ever had in one statement and one event (the ended
			// sessions' tokens were dead already: their families are revoked).
			const bulk = events.filter(e => e.name === "tokens.removedMany");
			expect(bulk).toEqual([
				{
					name: "tokens.removedMany",
					payload: expect.objectContaining({ type: "refresh", count: 131 })
				}
			]);
			expect(events.filter(e => e.name === "tokens.removed")).toEqual([]);
			await gw.broker.destroyService(recorder);
		});
	});

	describe("10. legitimate callers do not trip the guessing limiter", () => {
		it("gives all of 100 concurrent refreshes of one token the shared successor", async () => {
			const account = await newAccount("concurrentrefresh");
			const { refreshToken } = account.first;
			// Through the broker: all 100 reach auth before the first rotation is done.
			const answers = await Promise.allSettled(
				Array.from({ length: 100 }, () =>
					gw.broker.call<{ refreshToken: string }, object>(
						"auth.refresh",
						{ refreshToken },
						{ meta: { ip: "198.51.100.23" } }
					)
				)
			);
			const refused = answers.filter(a => a.status === "rejected");
			expect(refused.map(r => (r as PromiseRejectedResult).reason?.type)).toEqual([]);
			const successors = new Set(
				answers.map(
					a => (a as PromiseFulfilledResult<{ refreshToken: string }>).value.refreshToken
				)
			);
			expect(successors.size).toBe(1);
		});

		it("lets a resource server introspect 60 inactive tokens, each answered inactive", async () => {
			const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
			for (let i = 0; i < 60; i++) {
				const token =
					i % 2
						? `mtk_${String(i).padStart(43, "Z")}`
						: `mtf_${String(i).padStart(43, "Z")}`;
				const res = await request(api("/oauth2/introspect"), {
					method: "POST",
					headers: admin,
					form: { token }
				});
				expect([res.status, res.body]).toEqual([200, { active: false }]);
			}
		});
	});

	describe("10. a broken compressed body is the caller's error", () => {
		it.each(["gzip", "deflate", "br"])(
			"answers 400 to a malformed %s body and logs no error",
			async encoding => {
				const errors = () => gw.logs.lines.filter(l => /^(error|warn) /.test(l));
				const errorsBefore = errors().length;
				const res = await request(api("/api/auth/sign-in"), {
					method: "POST",
					headers: { "content-type": "application/json", "content-encoding": encoding },
					body: "this is not compressed at all"
				});
				expect([res.status, errors().slice(errorsBefore)]).toEqual([400, []]);
				expect(res.body).toMatchObject({ type: "INVALID_BODY" });
			}
		);
	});

	// Last: it drains this client's lookup budget, which the other cases need.
	describe("4. the e-mail-code routes answer alike for addresses with and without an account", () => {
		it("gives the same status and body once the client's lookup budget is drained", async () => {
			await newAccount("codeowner");
			const answers = async () => {
				const out: unknown[] = [];
				for (const email of ["codeowner@corp.example", "nobody-here@corp.example"]) {
					for (const path of [
						"/api/auth/email-code/sign-in",
						"/api/auth/verify-email/code"
					]) {
						const res = await post(path, { email, code: "123456" });
						out.push({
							path,
							status: res.status,
							type: (res.body as { type?: string }).type
						});
					}
				}
				return out;
			};
			const fresh = await answers();
			expect(fresh.slice(0, 2)).toEqual(fresh.slice(2));
			let drained = false;
			for (let i = 0; i < 300 && !drained; i++) {
				const res = await request(api("/api/me"), {
					headers: { "x-api-key": `mtk_${String(i).padStart(43, "Q")}` }
				});
				drained = res.status === 429;
			}
			expect(drained).toBe(true);
			const limited = await answers();
			expect(limited.slice(0, 2)).toEqual(limited.slice(2));
		});
	});
});
