/**
 * E-mailed codes over REST, mail delivered over SMTP to a real test server: sign-in by code,
 * verification by the code in the verification mail, and the budgets: 3 submissions per code, and
 * a per-address hourly budget that requesting new codes does not refill (better-auth #11162).
 */
import { type MailingGateway, startMailingGateway } from "../../helpers/gateway";
import { authService } from "../../helpers/auth";
import { type ReceivedMail } from "../../helpers/smtp";
import { request } from "../../helpers/http";

describe("e-mail codes over REST", () => {
	let gw: MailingGateway;
	const password = "a long enough password";
	const api = (path: string) => `${gw.url}${path}`;
	const post = (path: string, json: unknown) => request(api(path), { method: "POST", json });
	const seen = new Set<ReceivedMail>();

	/** The next mail to `to` whose subject has `subject`, and the 6-digit code in it. */
	const codeMailTo = async (to: string, subject: string) => {
		const mail = await gw.smtp.waitFor(
			m => !seen.has(m) && m.to.includes(to) && m.subject.includes(subject)
		);
		seen.add(mail);
		const code = /\b([0-9]{6})\b/.exec(mail.text)?.[1];
		if (!code) throw new Error(`no code in the mail "${mail.subject}"`);
		return { mail, code };
	};
	const otherThan = (code: string) => (code === "000000" ? "000001" : "000000");

	beforeAll(async () => {
		gw = await startMailingGateway({
			services: [
				authService({
					limits: {
						signIn: { maxAttempts: 5, window: 900 },
						address: { maxAttempts: 1000, window: 900 },
						mail: { maxAttempts: 100, window: 900 },
						codeAttempts: { maxAttempts: 3, window: 3600 },
						codeHourly: { maxAttempts: 10, window: 3600 }
					}
				})
			],
			settings: { rateLimit: { window: 60, public: 1000, user: 1000, admin: 1000 } }
		});
	});
	afterAll(async () => {
		await gw?.stop();
	});

	const signUp = async (username: string) => {
		const email = `${username}@example.com`;
		expect((await post("/api/auth/sign-up", { username, email, password })).status).toBe(200);
		return email;
	};

	it("confirms an address with the code in the verification mail, keeping the password given", async () => {
		const email = await signUp("vic");
		const { mail, code } = await codeMailTo(email, "Confirm");
		expect(mail.text).toContain("/verify-email?token=");
		expect(mail.text).toMatch(/expires in 5 minutes/);
		const wrongPassword = await post("/api/auth/verify-email/code", {
			email,
			code,
			password: "not the password"
		});
		expect(wrongPassword).toMatchObject({ status: 401, body: { type: "INVALID_CREDENTIALS" } });
		// The code was not spent by the wrong password.
		const ok = await post("/api/auth/verify-email/code", { email, code, password });
		expect(ok).toMatchObject({
			status: 200,
			body: { passwordKept: true, user: { emailVerified: true } }
		});
		expect((await post("/api/auth/sign-in", { login: "vic", password })).status).toBe(200);
		expect((await post("/api/auth/verify-email/code", { email, code })).status).toBe(401);
	});

	it("signs in with a mailed code, once; the mail names the code and its lifetime and has no link", async () => {
		const email = await signUp("cody");
		await codeMailTo(email, "Confirm");
		expect(await post("/api/auth/email-code", { email })).toMatchObject({
			status: 200,
			body: { ok: true }
		});
		const { mail, code } = await codeMailTo(email, "sign-in code");
		expect(mail.subject).not.toContain(code);
		expect(mail.text).toContain("expires in 5 minutes");
		expect(mail.text).not.toMatch(/https?:\/\//);
		expect(mail.html ?? "").not.toContain("<a ");
		const signedIn = await post("/api/auth/email-code/sign-in", { email, code });
		expect(signedIn.status).toBe(200);
		const { accessToken } = signedIn.body as { accessToken: string };
		const me = await request(api("/api/me"), {
			headers: { authorization: `Bearer ${accessToken}` }
		});
		expect(me.body).toMatchObject({ username: "cody", emailVerified: true });
		expect((await post("/api/auth/email-code/sign-in", { email, code })).body).toMatchObject({
			type: "INVALID_CODE"
		});
	});

	it("answers the same for an address without an account, and mails nothing", async () => {
		const before = gw.smtp.messages.length;
		const res = await post("/api/auth/email-code", { email: "nobody@example.com" });
		expect(res).toMatchObject({ status: 200, body: { ok: true } });
		const guess = await post("/api/auth/email-code/sign-in", {
			email: "nobody@example.com",
			code: "123456"
		});
		expect(guess).toMatchObject({ status: 401, body: { type: "INVALID_CODE" } });
		expect(
			await gw.smtp.arrivedSince(before, m => m.to.includes("nobody@example.com"))
		).toEqual([]);
	});

	it("kills a code after 3 submissions, even if the next one is right", async () => {
		const email = await signUp("tri");
		await codeMailTo(email, "Confirm");
		await post("/api/auth/email-code", { email });
		const { code } = await codeMailTo(email, "sign-in code");
		for (let i = 0; i < 3; i++) {
			const res = await post("/api/auth/email-code/sign-in", {
				email,
				code: otherThan(code)
			});
			expect(res).toMatchObject({ status: 401, body: { type: "INVALID_CODE" } });
		}
		expect((await post("/api/auth/email-code/sign-in", { email, code })).status).toBe(401);
		// A new code works again.
		await post("/api/auth/email-code", { email });
		const fresh = await codeMailTo(email, "sign-in code");
		expect(
			(await post("/api/auth/email-code/sign-in", { email, code: fresh.code })).status
		).toBe(200);
	});

	it("does not give new attempts beyond 10 an hour however many codes are requested", async () => {
		const email = await signUp("rerun");
		await codeMailTo(email, "Confirm");
		const statuses: number[] = [];
		let last = "";
		for (let round = 0; round < 5; round++) {
			await post("/api/auth/email-code", { email });
			last = (await codeMailTo(email, "sign-in code")).code;
			for (let i = 0; i < 3; i++) {
				statuses.push(
					(await post("/api/auth/email-code/sign-in", { email, code: otherThan(last) }))
						.status
				);
			}
		}
		// 10 submissions in the hour are answered; every later one is refused, new codes or not.
		expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
		expect(statuses.slice(10)).toEqual(Array(5).fill(429));
		await post("/api/auth/email-code", { email });
		const right = (await codeMailTo(email, "sign-in code")).code;
		const refused = await post("/api/auth/email-code/sign-in", { email, code: right });
		expect(refused.status).toBe(429);
		expect(refused.headers.get("retry-after")).toMatch(/^[0-9]+$/);
	});

	it("refuses bad input with a 422 naming the field, and never echoes a code", async () => {
		const res = await post("/api/auth/email-code/sign-in", {
			email: "not an address",
			code: "1"
		});
		expect(res.status).toBe(422);
		expect(JSON.stringify(res.body)).toContain('"field":"email"');
		const long = await post("/api/auth/email-code/sign-in", {
			email: "a@example.com",
			code: "9".repeat(40)
		});
		expect(long.status).toBe(422);
		expect(long.text).not.toContain("9".repeat(40));
	});
});
