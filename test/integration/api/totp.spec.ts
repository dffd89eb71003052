/**
 * TOTP two-factor sign-in over REST: enrolment (secret, otpauth URI, QR code), confirmation with
 * recovery codes, sign-in answering a challenge completed by a code or a recovery code, a code never
 * accepted twice, 5 wrong codes locking a challenge, API keys needing a session that passed TOTP,
 * and turning it off. Codes are computed from the secret as an authenticator app would.
 */
import { base32Decode, hotp, totpStep } from "../../../lib/auth/totp";
import { authService } from "../../helpers/auth";
import { startGateway, type TestGateway, signUpUsers } from "../../helpers/gateway";
import { request } from "../../helpers/http";

describe("TOTP over REST", () => {
	let gw: TestGateway;
	const password = "a long enough password";
	const api = (path: string) => `${gw.url}${path}`;
	const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
	const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
		request(api(path), { method: "POST", json, headers });

	beforeAll(async () => {
		gw = await startGateway({
			services: [
				authService({
					requireVerifiedEmail: false,
					limits: { totpAccount: { maxAttempts: 100, window: 3600 } }
				})
			],
			settings: { rateLimit: { window: 60, public: 1000, user: 1000, admin: 1000 } }
		});
		await signUpUsers(gw, ["tia"], password);
	});
	afterAll(() => gw.stop());

	const signIn = () => post("/api/auth/sign-in", { login: "tia", password });

	it("enrols, confirms, then asks every sign-in for a code that works once", async () => {
		const first = (await signIn()).body as { accessToken: string };
		const enrol = await post("/api/me/totp", {}, bearer(first.accessToken));
		expect(enrol.status).toBe(200);
		const { secret, otpauthUri, qrSvg } = enrol.body as Record<string, string>;
		expect(secret).toMatch(/^[A-Z2-7]{32}$/);
		expect(new URL(otpauthUri).searchParams.get("secret")).toBe(secret);
		expect(qrSvg).toMatch(/^<svg[\s\S]*<\/svg>$/);
		const key = base32Decode(secret);
		const step = totpStep(Date.now());
		const code = (offset: number) => hotp(key, step + offset);

		const wrong = code(0) === "000000" ? "000001" : "000000";
		expect(
			(await post("/api/me/totp/confirm", { code: wrong }, bearer(first.accessToken))).status
		).toBe(401);
		const confirmed = await post(
			"/api/me/totp/confirm",
			{ code: code(0) },
			bearer(first.accessToken)
		);
		expect(confirmed.status).toBe(200);
		const { recoveryCodes } = confirmed.body as { recoveryCodes: string[] };
		expect(recoveryCodes).toHaveLength(10);
		expect(
			(await post("/api/me/totp/confirm", { code: code(1) }, bearer(first.accessToken))).body
		).toMatchObject({ type: "TOTP_NOT_PENDING" });
		// The session from before TOTP was on may not create keys.
		expect(
			(await post("/api/me/api-keys", { name: "ci" }, bearer(first.accessToken))).body
		).toMatchObject({ type: "TOTP_REQUIRED" });

		// Sign-in now answers a challenge; the code of the step just used is refused (replay).
		const challenged = await signIn();
		expect(challenged.body).toEqual({
			mfaRequired: true,
			challenge: expect.any(String),
			methods: ["totp", "recoveryCode"]
		});
		const { challenge } = challenged.body as { challenge: string };
		expect(
			(await post("/api/auth/sign-in/totp", { challenge, code: code(0) })).body
		).toMatchObject({ type: "INVALID_CODE" });
		const done = await post("/api/auth/sign-in/totp", { challenge, code: code(1) });
		expect(done.status).toBe(200);
		const second = done.body as { accessToken: string };
		// The same code on a new challenge: never twice.
		const again = (await signIn()).body as { challenge: string };
		expect(
			(await post("/api/auth/sign-in/totp", { challenge: again.challenge, code: code(1) }))
				.status
		).toBe(401);

		// This session passed TOTP: it may create a key, and the key needs no TOTP.
		const made = await post("/api/me/api-keys", { name: "ci" }, bearer(second.accessToken));
		expect(made.status).toBe(200);
		const apiKey = (made.body as { token: string }).token;
		expect((await request(api("/api/me"), { headers: { "x-api-key": apiKey } })).status).toBe(
			200
		);

		// A recovery code works once, in any case and spacing.
		const recovery = recoveryCodes[0];
		const viaRecovery = await post("/api/auth/sign-in/totp", {
			challenge: again.challenge,
			recoveryCode: recovery.toUpperCase().replace("-", " ")
		});
		expect(viaRecovery.status).toBe(200);
		const third = (await signIn()).body as { challenge: string };
		expect(
			(
				await post("/api/auth/sign-in/totp", {
					challenge: third.challenge,
					recoveryCode: recovery
				})
			).body
		).toMatchObject({ type: "INVALID_CODE" });

		// 5 wrong codes lock the challenge: even a good recovery code is refused on it then.
		for (let i = 0; i < 5; i++) {
			await post("/api/auth/sign-in/totp", { challenge: third.challenge, code: wrong });
		}
		const locked = await post("/api/auth/sign-in/totp", {
			challenge: third.challenge,
			recoveryCode: recoveryCodes[1]
		});
		expect(locked.status).toBe(401);
		const fresh = (await signIn()).body as { challenge: string };
		expect(
			(
				await post("/api/auth/sign-in/totp", {
					challenge: fresh.challenge,
					recoveryCode: recoveryCodes[1]
				})
			).status
		).toBe(200);

		// Off with the password: sign-in gives a session at once again.
		expect(
			(
				await request(api("/api/me/totp"), {
					method: "DELETE",
					headers: bearer(second.accessToken),
					json: { password: "not it at all" }
				})
			).status
		).toBe(401);
		expect(
			(
				await request(api("/api/me/totp"), {
					method: "DELETE",
					headers: bearer(second.accessToken),
					json: { password }
				})
			).status
		).toBe(200);
		expect((await signIn()).body).toMatchObject({ accessToken: expect.any(String) });
	});

	it("keeps the secret sealed in the store and refuses TOTP set-up to an API key", async () => {
		const s = (await signIn()).body as { accessToken: string };
		const enrol = await post("/api/me/totp", {}, bearer(s.accessToken));
		const { secret } = enrol.body as { secret: string };
		const { readdirSync, readFileSync } = await import("node:fs");
		const files = readdirSync(gw.dataDir)
			.map(f => readFileSync(`${gw.dataDir}/${f}`, "utf8"))
			.join("\n");
		expect(files).toContain("totpSecret");
		expect(files).not.toContain(secret);
		expect(files).not.toContain(base32Decode(secret).toString("base64"));
		const key = await gw.broker.call<{ token: string }, object>(
			"auth.createApiKey",
			{ name: "k" },
			{
				meta: {
					user: (
						(await gw.broker.call("auth.resolveAccessToken", {
							token: s.accessToken
						})) as { user: unknown }
					).user
				}
			}
		);
		const res = await post("/api/me/totp", {}, { "x-api-key": key.token });
		expect(res.body).toMatchObject({ type: "SESSION_REQUIRED" });
	});
});
