/**
 * Passkeys over HTTP, on the embedded store and PostgreSQL, answered by a software authenticator
 * (test/helpers/software-authenticator): add one (recent sign-in), list, rename, remove; sign in
 * with no login typed; the refusals (replayed challenge, unknown or removed passkey, another user's
 * handle, a stale counter marks the passkey cloned); TOTP skipped after user verification; the
 * passkeys go with the account; events carry no credential material.
 */
import type { Context, ServiceSchema } from "moleculer";
import { authService } from "../../helpers/auth";
import { startGateway, storeOn, type TestGateway } from "../../helpers/gateway";
import { request } from "../../helpers/http";
import { postgresKinds } from "../../helpers/postgres";
import { SoftwareAuthenticator } from "../../helpers/software-authenticator";
import { base32Decode, hotp, totpStep } from "../../../lib/auth/totp";
import * as repl from "../../../lib/broker/repl-commands";

const kinds = ["nedb" as const, ...postgresKinds<"postgres">("passkeys")];
const ORIGIN = "http://localhost:3000";
const webauthn = { id: "localhost", name: "Passkey tests", origins: [ORIGIN] };
type Json = Record<string, unknown>;

describe.each(kinds)("passkeys over HTTP, on %s", kind => {
	let gw: TestGateway;
	const events: { name: string; payload: Json }[] = [];
	const password = "long enough password";

	beforeAll(async () => {
		const listener = (): ServiceSchema => ({
			name: "passkey-events",
			events: {
				"auth.passkey*"(ctx: Context<Json>) {
					events.push({ name: ctx.eventName ?? "", payload: ctx.params });
				}
			}
		});
		gw = await startGateway({
			services: [authService({ requireVerifiedEmail: false, webauthn }), () => listener()],
			storeSettings: storeOn(kind),
			settings: { rateLimit: { window: 60, public: 10_000, user: 10_000, admin: 10_000 } }
		});
	}, 60_000);
	afterAll(() => gw?.stop());

	const post = (path: string, json: unknown, token?: string) =>
		request(`${gw.url}${path}`, {
			method: "POST",
			json,
			headers: token ? { authorization: `Bearer ${token}` } : {}
		});
	const call = (method: string, path: string, token: string, json?: unknown) =>
		request(`${gw.url}${path}`, {
			method,
			headers: { authorization: `Bearer ${token}` },
			...(json === undefined ? {} : { json })
		});

	async function account(username: string) {
		await post("/api/auth/sign-up", { username, email: `${username}@example.com`, password });
		const signIn = await post("/api/auth/sign-in", { login: username, password });
		return (signIn.body as { accessToken: string }).accessToken;
	}

	async function withPasskey(username: string, options: { userVerified?: boolean } = {}) {
		const token = await account(username);
		const authenticator = new SoftwareAuthenticator(ORIGIN, options);
		const creation = await post("/api/me/passkeys/options", {}, token);
		expect(creation.status).toBe(200);
		const added = await post(
			"/api/me/passkeys",
			{ response: authenticator.create(creation.body as never), name: "laptop" },
			token
		);
		expect(added.status).toBe(200);
		return { token, authenticator, passkey: added.body as { id: string } };
	}

	async function signInWith(authenticator: SoftwareAuthenticator, bend = {}, login?: string) {
		const options = await post("/api/auth/passkey/options", login ? { login } : {});
		expect(options.status).toBe(200);
		const response = authenticator.get(options.body as never, bend);
		return { response, answer: await post("/api/auth/passkey/sign-in", { response }) };
	}

	it("adds, lists, renames and removes a passkey; another user's id is a 404", async () => {
		const { token, passkey } = await withPasskey("pk_owner");
		const listed = await call("GET", "/api/me/passkeys", token);
		expect(listed.body).toEqual([
			expect.objectContaining({
				id: passkey.id,
				name: "laptop",
				deviceType: "multiDevice",
				backedUp: true,
				lastUsedAt: null,
				cloned: false
			})
		]);
		expect(JSON.stringify(listed.body)).not.toMatch(/publicKey/);
		const other = await account("pk_other");
		expect(
			(await call("PUT", `/api/me/passkeys/${passkey.id}`, other, { name: "x" })).status
		).toBe(404);
		expect((await call("DELETE", `/api/me/passkeys/${passkey.id}`, other)).status).toBe(404);
		const printed: string[] = [];
		await repl.passkeysList(gw.broker, "pk_owner", line => printed.push(line));
		expect(printed[2]).toMatch(
			new RegExp(`^${passkey.id}\\s+laptop\\s+synced\\s+\\d{4}-.*never`)
		);
		const renamed = await call("PUT", `/api/me/passkeys/${passkey.id}`, token, {
			name: "phone"
		});
		expect(renamed.body).toMatchObject({ id: passkey.id, name: "phone" });
		expect((await call("DELETE", `/api/me/passkeys/${passkey.id}`, token)).status).toBe(200);
		expect((await call("GET", "/api/me/passkeys", token)).body).toEqual([]);
		const names = events.filter(e => e.payload.passkeyId === passkey.id).map(e => e.name);
		expect(names).toEqual(["auth.passkeyAdded", "auth.passkeyRemoved"]);
	});

	it("offers creation options that exclude the user's passkeys and name a random handle", async () => {
		const { token, passkey } = await withPasskey("pk_exclude");
		const options = (await post("/api/me/passkeys/options", {}, token)).body as Json;
		expect(options.excludeCredentials).toEqual([expect.objectContaining({ id: passkey.id })]);
		const user = options.user as { id: string; name: string };
		expect(user.name).toBe("pk_exclude");
		expect(Buffer.from(user.id, "base64url").toString("latin1")).not.toContain("example.com");
	});

	it("needs a session to add a passkey, and a recent sign-in or the password", async () => {
		expect((await post("/api/me/passkeys/options", {})).status).toBe(401);
	});

	it("signs in with no login typed, as signIn answers, and only once per answer", async () => {
		const { authenticator, passkey } = await withPasskey("pk_signin");
		const { response, answer } = await signInWith(authenticator);
		expect(answer.status).toBe(200);
		expect(answer.body).toMatchObject({
			accessToken: expect.any(String),
			refreshToken: expect.any(String),
			user: expect.objectContaining({ username: "pk_signin" })
		});
		const me = await call(
			"GET",
			"/api/me",
			(answer.body as { accessToken: string }).accessToken
		);
		expect(me.body).toMatchObject({ username: "pk_signin" });
		// The same answer again: its challenge was spent.
		const replay = await post("/api/auth/passkey/sign-in", { response });
		expect(replay).toMatchObject({ status: 401, body: { type: "PASSKEY_REFUSED" } });
		const used = events.find(
			e => e.name === "auth.passkeyUsed" && e.payload.passkeyId === passkey.id
		);
		expect(used?.payload).toEqual({ userId: expect.any(String), passkeyId: passkey.id });
	});

	it("lists a login's passkeys in the options, and a made-up one for an unknown login", async () => {
		const { authenticator, passkey } = await withPasskey("pk_login");
		const known = (await post("/api/auth/passkey/options", { login: "pk_login" })).body as Json;
		expect(known.allowCredentials).toEqual([expect.objectContaining({ id: passkey.id })]);
		const unknown = (await post("/api/auth/passkey/options", { login: "nobody_here" }))
			.body as Json;
		const again = (await post("/api/auth/passkey/options", { login: "nobody_here" }))
			.body as Json;
		expect(unknown.allowCredentials).toHaveLength(1);
		expect(again.allowCredentials).toEqual(unknown.allowCredentials);
		expect(Object.keys(unknown).sort()).toEqual(Object.keys(known).sort());
		expect((await signInWith(authenticator, {}, "pk_login")).answer.status).toBe(200);
	});

	it("refuses an unknown credential, a removed passkey, and another user's handle", async () => {
		const { token, authenticator, passkey } = await withPasskey("pk_refused");
		expect(
			(await signInWith(authenticator, { credentialId: "AAAAAAAAAAAAAAAAAAAAAA" })).answer
				.status
		).toBe(401);
		const other = await withPasskey("pk_refused_other");
		// Its own signature, another account's credential id: the key does not verify it.
		expect(
			(await signInWith(other.authenticator, { credentialId: passkey.id })).answer.status
		).toBe(401);
		await call("DELETE", `/api/me/passkeys/${passkey.id}`, token);
		expect((await signInWith(authenticator)).answer).toMatchObject({
			status: 401,
			body: { type: "PASSKEY_REFUSED" }
		});
	});

	it("marks a passkey whose counter went backwards cloned, refuses it from then on, and says so", async () => {
		const { token, authenticator, passkey } = await withPasskey("pk_clone");
		expect((await signInWith(authenticator)).answer.status).toBe(200);
		expect((await signInWith(authenticator)).answer.status).toBe(200);
		expect((await signInWith(authenticator, { counter: 1 })).answer.status).toBe(401);
		expect((await call("GET", "/api/me/passkeys", token)).body).toEqual([
			expect.objectContaining({ id: passkey.id, cloned: true })
		]);
		expect((await signInWith(authenticator)).answer.status).toBe(401);
		expect(
			events.some(e => e.name === "auth.passkeyCloned" && e.payload.passkeyId === passkey.id)
		).toBe(true);
	});

	it("skips TOTP after a user-verified passkey, and asks for it after one without verification", async () => {
		const { token, authenticator } = await withPasskey("pk_totp");
		const enrol = (await post("/api/me/totp", {}, token)).body as { secret: string };
		const code = hotp(base32Decode(enrol.secret), totpStep(Date.now()));
		expect((await post("/api/me/totp/confirm", { code }, token)).status).toBe(200);
		const verified = await signInWith(authenticator);
		expect(verified.answer.body).toMatchObject({ accessToken: expect.any(String) });
		const unverified = await signInWith(authenticator, { userVerified: false });
		expect(unverified.answer.body).toMatchObject({
			mfaRequired: true,
			challenge: expect.any(String)
		});
	});

	it("takes a passkey as the second step of a password sign-in on an account with TOTP, and only the account's own", async () => {
		const { token, authenticator } = await withPasskey("pk_step");
		const enrol = (await post("/api/me/totp", {}, token)).body as { secret: string };
		const code = hotp(base32Decode(enrol.secret), totpStep(Date.now()));
		expect((await post("/api/me/totp/confirm", { code }, token)).status).toBe(200);
		const first = (await post("/api/auth/sign-in", { login: "pk_step", password })).body as {
			challenge: string;
			methods: string[];
		};
		expect(first).toMatchObject({ mfaRequired: true });
		expect(first.methods).toEqual(["totp", "recoveryCode", "passkey"]);
		// Another account's passkey cannot answer this account's second step.
		const stranger = await withPasskey("pk_step_stranger");
		const strangerOptions = await post("/api/auth/passkey/options", {
			challenge: first.challenge
		});
		const wrong = await post("/api/auth/sign-in/passkey", {
			challenge: first.challenge,
			response: stranger.authenticator.get(strangerOptions.body as never)
		});
		expect(wrong).toMatchObject({ status: 401, body: { type: "PASSKEY_REFUSED" } });
		const options = (await post("/api/auth/passkey/options", { challenge: first.challenge }))
			.body as { allowCredentials: unknown[] };
		expect(options.allowCredentials).toHaveLength(1);
		const done = await post("/api/auth/sign-in/passkey", {
			challenge: first.challenge,
			response: authenticator.get(options as never)
		});
		expect(done.status).toBe(200);
		expect(done.body).toMatchObject({ accessToken: expect.any(String) });
		// The challenge is spent with the session.
		const again = await post("/api/auth/passkey/options", { challenge: first.challenge });
		expect(again.status).toBe(401);
		// An account without passkeys is offered TOTP and recovery codes only.
		const plain = await account("pk_step_plain");
		const secret = ((await post("/api/me/totp", {}, plain)).body as { secret: string }).secret;
		const plainCode = hotp(base32Decode(secret), totpStep(Date.now()));
		await post("/api/me/totp/confirm", { code: plainCode }, plain);
		const plainFirst = (await post("/api/auth/sign-in", { login: "pk_step_plain", password }))
			.body as { methods: string[] };
		expect(plainFirst.methods).toEqual(["totp", "recoveryCode"]);
	});

	it("leaves passkeys alone on a password reset, which still ends every session", async () => {
		const { token, authenticator, passkey } = await withPasskey("pk_reset");
		const me = (await call("GET", "/api/me", token)).body as { id: string };
		// The token a reset mail would carry.
		const reset = await gw.broker.call<{ token: string }, object>("tokens.generate", {
			type: "password-reset",
			owner: me.id
		});
		const done = await post("/api/auth/reset-password", {
			token: reset.token,
			password: "another long enough password",
			confirmPassword: "another long enough password"
		});
		expect(done.status).toBe(200);
		expect((await call("GET", "/api/me", token)).status).toBe(401);
		expect((await signInWith(authenticator)).answer.status).toBe(200);
		expect(
			events.filter(
				e => e.name === "auth.passkeyRemoved" && e.payload.passkeyId === passkey.id
			)
		).toEqual([]);
	});

	it("removes the passkeys with the account", async () => {
		const { token, authenticator } = await withPasskey("pk_deleted");
		expect((await call("DELETE", "/api/me", token, { password })).status).toBe(200);
		expect((await signInWith(authenticator)).answer.status).toBe(401);
	});

	it("refuses a response that is not a passkey's answer with a 4xx naming the field", async () => {
		const answer = await post("/api/auth/passkey/sign-in", { response: { id: "x" } });
		expect(answer.status).toBe(422);
		expect(answer.body).toMatchObject({
			data: [expect.objectContaining({ field: "response" })]
		});
		expect((await post("/api/auth/passkey/sign-in", { response: "x" })).status).toBe(422);
		// An optional field given as null is absent (the property suite found a 500 here).
		const nulls = await post("/api/auth/passkey/options", { login: null, challenge: null });
		expect(nulls.status).toBe(200);
		expect(nulls.body).toMatchObject({ allowCredentials: [] });
	});

	it("never puts a challenge or credential material in an event", () => {
		const text = JSON.stringify(events);
		expect(text).not.toMatch(/mtw_|publicKey|signature|clientDataJSON/);
	});
});
