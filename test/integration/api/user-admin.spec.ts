/**
 * User administration over REST, on the embedded store and PostgreSQL: who may administer (an
 * `admin` account's own session only with a second factor, and a recent one for the dangerous
 * actions; ADMIN_TOKEN; never a plain user), finding users, one user's detail without a secret,
 * invitations, locks (sessions, refresh tokens and keys refused, sign-in 403 ACCOUNT_LOCKED, an
 * unlock bringing no session back), the other actions, and the audit entry each writes first.
 */
import AuditService from "../../../services/audit.service";
import { base32Decode, hotp, totpStep } from "../../../lib/auth/totp";
import { authService } from "../../helpers/auth";
import { withSettings } from "../../helpers/broker";
import {
	startGateway,
	storeOn,
	TEST_ADMIN_TOKEN,
	type TestGateway,
	type MailingGateway,
	startMailingGateway
} from "../../helpers/gateway";
import { request, type Answer } from "../../helpers/http";
import { postgresKinds } from "../../helpers/postgres";
import { linkIn, tokenOf } from "../../helpers/smtp";

const kinds = ["nedb" as const, ...postgresKinds<"postgres">("user administration")];
type Json = Record<string, unknown>;
const PASSWORD = "long enough password";
/** Seconds a sign-in counts as recent here: short, so the test can outwait it. */
const RECENT = 3;

describe.each(kinds)("user administration, on %s", kind => {
	let gw: MailingGateway;
	const adminToken = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

	beforeAll(async () => {
		gw = await startMailingGateway({
			services: [
				authService({ requireVerifiedEmail: false, recentSignIn: RECENT }),
				dataDir => withSettings(AuditService, { dataDir })
			],
			storeSettings: storeOn(kind),
			settings: { rateLimit: { window: 60, public: 100_000, user: 100_000, admin: 100_000 } }
		});
	}, 60_000);
	afterAll(async () => {
		await gw?.stop();
	});

	const api = (path: string) => `${gw.url}${path}`;
	const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
	const call = (method: string, path: string, headers: Record<string, string>, json?: unknown) =>
		request(api(path), { method, headers, ...(json === undefined ? {} : { json }) });
	const asAdmin = (method: string, path: string, json?: unknown) =>
		call(method, path, adminToken, json);

	async function signUp(username: string): Promise<string> {
		const answer = await call(
			"POST",
			"/api/auth/sign-up",
			{},
			{
				username,
				email: `${username}@example.com`,
				password: PASSWORD
			}
		);
		expect(answer.status).toBe(200);
		return (answer.body as { user: { id: string } }).user.id;
	}
	async function signIn(login: string, password = PASSWORD): Promise<Answer> {
		return call("POST", "/api/auth/sign-in", {}, { login, password });
	}
	async function session(login: string) {
		const answer = await signIn(login);
		expect(answer.status).toBe(200);
		return answer.body as { accessToken: string; refreshToken: string };
	}
	async function auditOf(subject: string): Promise<Json[]> {
		const answer = await asAdmin("GET", `/api/admin/audit?user=${subject}`);
		expect(answer.status).toBe(200);
		return (answer.body as { entries: Json[] }).entries;
	}

	/** An admin account with TOTP on, signed in through TOTP: its session and a code source. */
	async function totpAdmin(username: string) {
		const id = await signUp(username);
		expect(
			(await asAdmin("PUT", `/api/admin/users/${id}/roles`, { roles: ["user", "admin"] }))
				.status
		).toBe(200);
		const first = await session(username);
		// Without a second factor the admin's own session is refused everywhere on /api/admin.
		expect(
			(await call("GET", "/api/admin/users", bearer(first.accessToken))).body
		).toMatchObject({ type: "SECOND_FACTOR_REQUIRED" });
		const { secret } = (await call("POST", "/api/me/totp", bearer(first.accessToken), {}))
			.body as { secret: string };
		const key = base32Decode(secret);
		const step = totpStep(Date.now());
		const confirmed = await call("POST", "/api/me/totp/confirm", bearer(first.accessToken), {
			code: hotp(key, step)
		});
		expect(confirmed.status).toBe(200);
		const { challenge } = (await signIn(username)).body as { challenge: string };
		const done = await call(
			"POST",
			"/api/auth/sign-in/totp",
			{},
			{
				challenge,
				code: hotp(key, step + 1)
			}
		);
		expect(done.status).toBe(200);
		return { id, token: (done.body as { accessToken: string }).accessToken };
	}

	it("lets an admin account in only with a second factor, and a plain user never", async () => {
		await signUp("plain_pat");
		const plain = await session("plain_pat");
		const refused = await call("GET", "/api/admin/users", bearer(plain.accessToken));
		expect(refused.status).toBe(403);
		expect(refused.body).toMatchObject({ type: "FORBIDDEN" });
		expect((await call("GET", "/api/admin/users", {})).status).toBe(401);

		const admin = await totpAdmin("adm_root");
		const listed = await call("GET", "/api/admin/users?q=plain_", bearer(admin.token));
		expect(listed.status).toBe(200);
		expect((listed.body as { users: Json[] }).users.map(u => u.username)).toEqual([
			"plain_pat"
		]);
		// The same session reaches the other admin routes (the audit search).
		expect((await call("GET", "/api/admin/audit", bearer(admin.token))).status).toBe(200);
		// The access cookie is never an admin credential (only Bearer).
		expect(
			(await call("GET", "/api/admin/users", { cookie: `mtk_access=${admin.token}` })).status
		).toBe(401);
	});

	it("asks a recent session for the dangerous actions, and never lets an admin lock or demote themselves", async () => {
		const admin = await totpAdmin("adm_recent");
		const target = await signUp("rec_target");
		expect(
			(
				await call("POST", `/api/admin/users/${admin.id}/lock`, bearer(admin.token), {
					reason: "self"
				})
			).body
		).toMatchObject({ type: "NOT_ON_YOURSELF" });
		expect(
			(
				await call("PUT", `/api/admin/users/${admin.id}/roles`, bearer(admin.token), {
					roles: ["user"]
				})
			).body
		).toMatchObject({ type: "NOT_ON_YOURSELF" });
		expect(
			(await call("DELETE", `/api/admin/users/${admin.id}`, bearer(admin.token))).body
		).toMatchObject({ type: "NOT_ON_YOURSELF" });
		await new Promise(resolve => setTimeout(resolve, (RECENT + 0.5) * 1000));
		const stale = await call("POST", `/api/admin/users/${target}/lock`, bearer(admin.token), {
			reason: "abuse"
		});
		expect(stale.status).toBe(403);
		expect(stale.body).toMatchObject({ type: "RECENT_SIGN_IN_REQUIRED" });
		// Reading and the milder actions still work from that session.
		expect(
			(await call("POST", `/api/admin/users/${target}/unlock`, bearer(admin.token))).status
		).toBe(200);
		expect((await auditOf(target)).map(e => [e.type, e.actor])).toEqual([
			["admin.userUnlocked", admin.id],
			["auth.userCreated", target]
		]);
	}, 20_000);

	it("finds users by username or address prefix in any case, by status, page by page", async () => {
		for (const name of ["fnd_alice", "fnd_albert", "fnd_bob"]) await signUp(name);
		const found = async (query: string) => {
			const answer = await asAdmin("GET", `/api/admin/users?${query}`);
			expect(answer.status).toBe(200);
			return answer.body as { users: Json[]; next: string | null };
		};
		expect((await found("q=FND_AL")).users.map(u => u.username)).toEqual([
			"fnd_albert",
			"fnd_alice"
		]);
		expect((await found("q=fnd_bob@EXAMPLE")).users.map(u => u.username)).toEqual(["fnd_bob"]);
		// LIKE's wildcards are plain characters in a prefix.
		expect((await found("q=fnd%25")).users).toEqual([]);
		expect((await found("q=fnd_")).users.every(u => u.status === "unconfirmed")).toBe(true);
		expect((await found("q=fnd_&status=active")).users).toEqual([]);

		const first = await found("q=fnd_&limit=2");
		expect(first.users.map(u => u.username)).toEqual(["fnd_albert", "fnd_alice"]);
		const second = await found(`q=fnd_&limit=2&cursor=${first.next}`);
		expect(second.users.map(u => u.username)).toEqual(["fnd_bob"]);
		expect(second.next).toBeNull();

		const badCursor = await asAdmin("GET", "/api/admin/users?cursor=%E2%82%AC%E2%82%AC");
		expect(badCursor.status).toBe(422);
		expect(JSON.stringify(badCursor.body)).toContain('"field":"cursor"');
		const badStatus = await asAdmin("GET", "/api/admin/users?status=gone");
		expect(badStatus.status).toBe(422);
		expect(JSON.stringify(badStatus.body)).toContain('"field":"status"');
	});

	it("shows one user's detail: sessions and keys, never a key, hash or secret", async () => {
		const id = await signUp("det_dora");
		const { accessToken } = await session("det_dora");
		const key = await call("POST", "/api/me/api-keys", bearer(accessToken), { name: "ci" });
		const plaintext = (key.body as { token: string }).token;
		const detail = await asAdmin("GET", `/api/admin/users/${id}`);
		expect(detail.status).toBe(200);
		expect(detail.body).toMatchObject({
			id,
			username: "det_dora",
			status: "unconfirmed",
			roles: ["user"],
			lock: null,
			secondFactors: { totp: false, passkeys: [] },
			apiKeys: [{ name: "ci", disabled: false }],
			lastSignInAt: expect.any(String)
		});
		expect((detail.body as { sessions: Json[] }).sessions).toHaveLength(1);
		const text = JSON.stringify(detail.body);
		for (const secret of [plaintext, accessToken, PASSWORD, "scrypt$"]) {
			expect(text).not.toContain(secret);
		}
		expect((await asAdmin("GET", "/api/admin/users/no-such-user")).status).toBe(404);
	});

	it("creates a user and invites them: the link sets the password and confirms the address", async () => {
		const created = await asAdmin("POST", "/api/admin/users", {
			username: "inv_ivy",
			email: "inv_ivy@example.com"
		});
		expect(created.status).toBe(200);
		const { user } = created.body as { user: { id: string } };
		expect(created.body).toMatchObject({ roles: ["user"], invited: true });
		const mail = await gw.smtp.waitFor(
			m => m.to.includes("inv_ivy@example.com") && m.subject.includes("invited")
		);
		const token = tokenOf(linkIn(mail, "/reset-password"));
		// No password yet: password sign-in fails as for a wrong one.
		expect((await signIn("inv_ivy")).status).toBe(401);
		const chosen = await call(
			"POST",
			"/api/auth/reset-password",
			{},
			{
				token,
				password: "ivy's own password",
				confirmPassword: "ivy's own password"
			}
		);
		expect(chosen.status).toBe(200);
		expect((await signIn("inv_ivy", "ivy's own password")).status).toBe(200);
		const detail = (await asAdmin("GET", `/api/admin/users/${user.id}`)).body as Json;
		expect(detail).toMatchObject({ emailVerified: true, status: "active" });
		expect(
			(
				await asAdmin("POST", "/api/admin/users", {
					username: "INV_IVY",
					email: "other@example.com"
				})
			).body
		).toMatchObject({ type: "ALREADY_EXISTS" });
		expect(
			(await asAdmin("POST", `/api/admin/users/${user.id}/resend-verification`)).body
		).toMatchObject({ type: "ALREADY_VERIFIED" });
		const bad = await asAdmin("POST", "/api/admin/users", {
			username: "inv_bad",
			email: "inv_bad@example.com",
			roles: ["root"]
		});
		expect(bad.status).toBe(422);
		expect(JSON.stringify(bad.body)).toContain('"field":"roles[0]"');
		const entries = await auditOf(user.id);
		expect(entries.find(e => e.type === "admin.userCreated")).toMatchObject({
			actor: "admin-token",
			data: { roles: "user", invite: true }
		});
		expect(JSON.stringify(entries)).not.toContain(token);
	});

	it("locks: sessions, refresh tokens and keys refused at once, sign-in 403; unlocking brings no session back", async () => {
		const id = await signUp("lck_lena");
		const old = await session("lck_lena");
		const key = (
			(await call("POST", "/api/me/api-keys", bearer(old.accessToken), { name: "k" }))
				.body as { token: string }
		).token;
		const me = (headers: Record<string, string>) => call("GET", "/api/me", headers);
		expect((await me({ "x-api-key": key })).status).toBe(200);

		const past = await asAdmin("POST", `/api/admin/users/${id}/lock`, {
			reason: "x",
			until: "2001-01-01T00:00:00Z"
		});
		expect(past.status).toBe(422);
		expect(JSON.stringify(past.body)).toContain('"field":"until"');
		expect((await asAdmin("POST", `/api/admin/users/${id}/lock`, {})).status).toBe(422);

		const locked = await asAdmin("POST", `/api/admin/users/${id}/lock`, {
			reason: "chargeback"
		});
		expect(locked.status).toBe(200);
		expect(locked.body).toMatchObject({ ok: true, revoked: 1, until: null });
		expect((await me(bearer(old.accessToken))).status).toBe(401);
		const keyAnswer = await me({ "x-api-key": key });
		expect(keyAnswer.status).toBe(403);
		expect(keyAnswer.body).toMatchObject({ type: "ACCOUNT_LOCKED" });
		expect(
			(await call("POST", "/api/auth/refresh", {}, { refreshToken: old.refreshToken })).status
		).toBe(401);
		const refusedSignIn = await signIn("lck_lena");
		expect(refusedSignIn.status).toBe(403);
		expect(refusedSignIn.body).toMatchObject({ type: "ACCOUNT_LOCKED" });
		// Only someone who knows the password learns of the lock.
		expect((await signIn("lck_lena", "not the password 1")).status).toBe(401);
		const listed = (await asAdmin("GET", "/api/admin/users?q=lck_&status=locked")).body as {
			users: Json[];
		};
		expect(listed.users.map(u => u.username)).toEqual(["lck_lena"]);
		expect((await asAdmin("GET", `/api/admin/users/${id}`)).body).toMatchObject({
			status: "locked",
			lock: { reason: "chargeback", until: null },
			sessions: []
		});

		expect((await asAdmin("POST", `/api/admin/users/${id}/unlock`)).status).toBe(200);
		expect((await me(bearer(old.accessToken))).status).toBe(401);
		expect(
			(await call("POST", "/api/auth/refresh", {}, { refreshToken: old.refreshToken })).status
		).toBe(401);
		expect((await me({ "x-api-key": key })).status).toBe(200);
		expect((await signIn("lck_lena")).status).toBe(200);
		expect(
			(await auditOf(id)).map(e => String(e.type)).filter(t => t.startsWith("admin."))
		).toEqual(["admin.userUnlocked", "admin.userLocked"]);
	});

	it("a lock with an end lifts itself then", async () => {
		const id = await signUp("lck_timed");
		const until = new Date(Date.now() + 1500).toISOString();
		const locked = await asAdmin("POST", `/api/admin/users/${id}/lock`, {
			reason: "cool-off",
			until
		});
		expect(locked.body).toMatchObject({ ok: true, until });
		expect((await signIn("lck_timed")).status).toBe(403);
		await new Promise(resolve => setTimeout(resolve, 1700));
		expect((await signIn("lck_timed")).status).toBe(200);
	});

	it("signs a user out everywhere with their keys, ends one session, clears budgets, mails a reset, deletes", async () => {
		const id = await signUp("act_abe");
		const a = await session("act_abe");
		const b = await session("act_abe");
		const key = (
			(await call("POST", "/api/me/api-keys", bearer(a.accessToken), { name: "k" })).body as {
				token: string;
			}
		).token;
		const sessions = (
			(await asAdmin("GET", `/api/admin/users/${id}`)).body as { sessions: { id: string }[] }
		).sessions;
		expect(sessions).toHaveLength(2);
		const one = await asAdmin("DELETE", `/api/admin/users/${id}/sessions/${sessions[0].id}`);
		expect(one.status).toBe(200);
		expect(
			(await asAdmin("DELETE", `/api/admin/users/other/sessions/${sessions[1].id}`)).status
		).toBe(404);
		const out = await asAdmin("POST", `/api/admin/users/${id}/sign-out-everywhere`, {
			includeApiKeys: true
		});
		expect(out.body).toMatchObject({ ok: true, apiKeysRevoked: 1 });
		expect((await asAdmin("GET", `/api/admin/users/${id}`)).body).toMatchObject({
			sessions: [],
			apiKeys: []
		});
		for (const token of [a.accessToken, b.accessToken]) {
			expect((await call("GET", "/api/me", bearer(token))).status).toBe(401);
		}
		expect((await call("GET", "/api/me", { "x-api-key": key })).status).toBe(401);

		// Five wrong passwords use up the account's budget; clearing it lets the owner in.
		let last: Answer | undefined;
		for (let i = 0; i < 12 && last?.status !== 429; i++) {
			last = await signIn("act_abe", `wrong password ${i}0`);
		}
		expect(last?.status).toBe(429);
		expect((await asAdmin("POST", `/api/admin/users/${id}/clear-attempts`)).status).toBe(200);
		expect((await signIn("act_abe")).status).toBe(200);

		expect((await asAdmin("POST", `/api/admin/users/${id}/password-reset`)).status).toBe(200);
		await gw.smtp.waitFor(
			m => m.to.includes("act_abe@example.com") && m.subject.includes("Reset")
		);
		expect((await asAdmin("POST", `/api/admin/users/${id}/resend-verification`)).status).toBe(
			200
		);

		expect((await asAdmin("DELETE", `/api/admin/users/${id}`)).status).toBe(200);
		expect((await asAdmin("GET", `/api/admin/users/${id}`)).status).toBe(404);
		expect((await signIn("act_abe")).status).toBe(401);
		expect(
			(await auditOf(id))
				.filter(e => String(e.type).startsWith("admin."))
				.map(e => [e.type, e.actor])
		).toEqual([
			["admin.userDeleted", "admin-token"],
			["admin.verificationResent", "admin-token"],
			["admin.passwordResetSent", "admin-token"],
			["admin.attemptsCleared", "admin-token"],
			["admin.userSignedOut", "admin-token"],
			["admin.sessionRevoked", "admin-token"]
		]);
	});

	it("an API key with the admin scope administers too, recorded as its owner", async () => {
		const admin = await totpAdmin("adm_keyowner");
		const made = await call("POST", "/api/me/api-keys", bearer(admin.token), {
			name: "automation",
			scopes: ["admin"]
		});
		expect(made.status).toBe(200);
		const key = (made.body as { token: string }).token;
		const target = await signUp("key_target");
		const locked = await call(
			"POST",
			`/api/admin/users/${target}/lock`,
			{ "x-api-key": key },
			{
				reason: "by automation"
			}
		);
		expect(locked.status).toBe(200);
		expect((await auditOf(target))[0]).toMatchObject({
			type: "admin.userLocked",
			actor: admin.id,
			data: { reason: "by automation", until: null }
		});
		// Taking the role takes it from the key at once.
		expect(
			(await asAdmin("PUT", `/api/admin/users/${admin.id}/roles`, { roles: ["user"] })).body
		).toMatchObject({ roles: ["user"] });
		expect(
			(await call("POST", `/api/admin/users/${target}/unlock`, { "x-api-key": key })).status
		).toBe(403);
	});
});

describe("admin actions without an audit trail", () => {
	let gw: TestGateway;
	beforeAll(async () => {
		gw = await startGateway({ services: [authService({ requireVerifiedEmail: false })] });
	});
	afterAll(() => gw?.stop());

	it("are not made: 503 AUDIT_UNAVAILABLE and the account unchanged", async () => {
		const { user } = await gw.broker.call<{ user: { id: string } }, object>("auth.signUp", {
			username: "noaudit",
			email: "noaudit@example.com",
			password: PASSWORD
		});
		const answer = await request(`${gw.url}/api/admin/users/${user.id}/lock`, {
			method: "POST",
			headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
			json: { reason: "x" }
		});
		expect(answer.status).toBe(503);
		expect(answer.body).toMatchObject({ type: "AUDIT_UNAVAILABLE" });
		const signIn = await gw.broker.call<object, object>("auth.signIn", {
			login: "noaudit",
			password: PASSWORD
		});
		expect(signIn).toHaveProperty("accessToken");
	});
});
