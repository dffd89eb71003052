/**
 * New-device verification over REST (AUTH_VERIFY_NEW_DEVICES=true), mail over SMTP: a password
 * sign-in from a device not seen before answers a challenge and mails a code; verify-device
 * completes it and remembers the device (a device token plus its User-Agent), returned or as a
 * cookie; wrong codes follow the code budgets.
 */
import { type MailingGateway, startMailingGateway } from "../../helpers/gateway";
import { authService } from "../../helpers/auth";
import { type ReceivedMail } from "../../helpers/smtp";
import { request } from "../../helpers/http";

const ORIGIN = "https://app.example";

describe("new-device verification over REST", () => {
	let gw: MailingGateway;
	const password = "a long enough password";
	const email = "dora@example.com";
	const seen = new Set<ReceivedMail>();
	const api = (path: string) => `${gw.url}${path}`;
	const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
		request(api(path), { method: "POST", json, headers });
	const laptop = { "user-agent": "Firefox/140 laptop" };

	const deviceCode = async () => {
		const mail = await gw.smtp.waitFor(
			m => !seen.has(m) && m.to.includes(email) && m.subject.includes("new device")
		);
		seen.add(mail);
		return /\b([0-9]{6})\b/.exec(mail.text)![1];
	};
	const signIn = (headers: Record<string, string>, extra: object = {}) =>
		post("/api/auth/sign-in", { login: "dora", password, ...extra }, headers);

	beforeAll(async () => {
		gw = await startMailingGateway({
			services: [authService({ verifyNewDevices: true, requireVerifiedEmail: false })],
			settings: {
				publicUrl: ORIGIN,
				rateLimit: { window: 60, public: 1000, user: 1000, admin: 1000 }
			}
		});
		await gw.broker.call("auth.signUp", { username: "dora", email, password });
	});
	afterAll(async () => {
		await gw?.stop();
	});

	it("challenges a new device, completes with the mailed code, then knows the device", async () => {
		const first = await signIn(laptop);
		expect(first.status).toBe(200);
		expect(first.body).toEqual({ verificationRequired: true, challenge: expect.any(String) });
		const { challenge } = first.body as { challenge: string };
		const code = await deviceCode();
		const wrong = code === "000000" ? "000001" : "000000";
		expect(
			await post("/api/auth/verify-device", { challenge, code: wrong }, laptop)
		).toMatchObject({ status: 401, body: { type: "INVALID_CODE" } });
		const done = await post("/api/auth/verify-device", { challenge, code }, laptop);
		expect(done.status).toBe(200);
		const { deviceToken, accessToken } = done.body as {
			deviceToken: string;
			accessToken: string;
		};
		expect(deviceToken).toMatch(/^mtd_/);
		expect(
			(await request(api("/api/me"), { headers: { authorization: `Bearer ${accessToken}` } }))
				.status
		).toBe(200);
		// The challenge is spent.
		expect((await post("/api/auth/verify-device", { challenge, code }, laptop)).status).toBe(
			401
		);

		// The same device signs in at once; the token from another browser does not pass.
		const again = await signIn(laptop, { deviceToken });
		expect(again.body).toMatchObject({ accessToken: expect.any(String) });
		const elsewhere = await signIn({ "user-agent": "Chrome/150 phone" }, { deviceToken });
		expect(elsewhere.body).toMatchObject({ verificationRequired: true });
		await deviceCode();
		expect((await signIn(laptop)).body).toMatchObject({ verificationRequired: true });
		await deviceCode();
	});

	it("mails nothing and answers 401 for a wrong password", async () => {
		const before = gw.smtp.messages.length;
		const res = await post(
			"/api/auth/sign-in",
			{ login: "dora", password: "wrong one!" },
			laptop
		);
		expect(res).toMatchObject({ status: 401, body: { type: "INVALID_CREDENTIALS" } });
		expect(await gw.smtp.arrivedSince(before, m => m.subject.includes("new device"))).toEqual(
			[]
		);
	});

	it("remembers the device in a cookie in cookie mode", async () => {
		const first = await signIn({ ...laptop, origin: ORIGIN }, { cookie: true });
		const { challenge } = first.body as { challenge: string };
		expect(first.headers.getSetCookie()).toEqual([]);
		const code = await deviceCode();
		const done = await post(
			"/api/auth/verify-device",
			{ challenge, code, cookie: true },
			{ ...laptop, origin: ORIGIN }
		);
		expect(done.status).toBe(200);
		expect(done.body).not.toHaveProperty("deviceToken");
		const device = done.headers
			.getSetCookie()
			.find(c => c.startsWith("__Host-mtk_device="))!
			.split(";")[0];
		expect(device).toMatch(/^__Host-mtk_device=mtd_/);
		const next = await signIn({ ...laptop, origin: ORIGIN, cookie: device }, { cookie: true });
		expect(next.status).toBe(200);
		expect(next.body).toMatchObject({ tokenType: "Bearer" });
		expect(next.headers.getSetCookie().some(c => c.startsWith("__Host-mtk_access="))).toBe(
			true
		);
	});
});
