/**
 * Limits and revocation at local speed on a shared store (issue 28): two gateways, two `auth` and
 * two `tokens` nodes, each a separate process (moleculer-runner on dist/) over real NATS, sharing
 * one PostgreSQL schema. The auth nodes lease credits and rate-limit windows in blocks and answer
 * keys and sessions from memory (lib/auth/api-key-usage, lib/auth/caller-cache).
 *
 * AUTH_CACHE_TTL is set to a minute here, so the "refused within 1 s on the other gateway" cases
 * can only pass through the invalidation broadcasts, not by the cache running out.
 */
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { createTestBroker } from "../helpers/broker";
import { awaitNodes, NodeCluster, sharedStoreEnv } from "../helpers/cluster";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../helpers/nats";
import { describeWithPostgres, uniqueSchema } from "../helpers/postgres";
import { buildOnce, eventually, freePort } from "../helpers/process";
import { linkIn, startSmtpServer, tokenOf, type TestSmtpServer } from "../helpers/smtp";
import { HOLD_BOUND_MS, SHARE } from "../../lib/auth/api-key-usage/allowance";
import { SoftwareAuthenticator } from "../helpers/software-authenticator";
import { base32Decode, hotp, totpStep } from "../../lib/auth/totp";

interface SessionTokens {
	accessToken: string;
	refreshToken: string;
}

const NODES: Record<string, string> = {
	"api-a": "api",
	"api-b": "api",
	"auth-a": "auth",
	"auth-b": "auth",
	"tokens-a": "tokens",
	"tokens-b": "tokens",
	mail: "mail",
	audit: "audit"
};

const UNLIMITED = "1000000000";
const PASSKEY_ORIGIN = "http://localhost:3000";

describeWithNats("limits and revocation across two gateways on one PostgreSQL", () => {
	describeWithPostgres("scale-out limits", () => {
		const schema = uniqueSchema("limits");
		const namespace = uniqueNamespace("limits");
		const cluster = new NodeCluster(NODES, schema);
		const bases: Record<string, string> = {};
		let caller: ServiceBroker;
		let smtp: TestSmtpServer;
		let env: Record<string, string>;

		const start = async (name: string) => {
			const port = name.startsWith("api") ? await freePort() : 0;
			if (port) bases[name] = `http://127.0.0.1:${port}`;
			cluster.start(name, port ? { ...env, PORT: String(port) } : env);
		};

		beforeAll(async () => {
			buildOnce();
			smtp = await startSmtpServer();
			env = {
				...sharedStoreEnv(namespace, schema),
				PUBLIC_URL: "http://127.0.0.1:1",
				SMTP_URL: smtp.url,
				REQUEST_TIMEOUT: "5000",
				HEARTBEAT_INTERVAL: "1",
				HEARTBEAT_TIMEOUT: "3",
				AUTH_CACHE_TTL: "60",
				WEBAUTHN_RP_ID: "localhost",
				WEBAUTHN_ORIGINS: PASSKEY_ORIGIN,
				RATE_LIMIT_PUBLIC: UNLIMITED,
				RATE_LIMIT_USER: UNLIMITED,
				RATE_LIMIT_ADMIN: UNLIMITED
			};
			caller = createTestBroker({
				namespace,
				nodeID: "limits-caller",
				transporter: natsTransporter(),
				heartbeatInterval: 1,
				heartbeatTimeout: 3
			});
			await caller.start();
			for (const name of cluster.names) await start(name);
			await caller.waitForServices(["tokens", "auth", "mail", "api", "audit"], 60_000);
			await awaitNodes(caller, { tokens: 2, auth: 2, api: 2 });
		}, 120_000);

		afterAll(() => cluster.stop("SIGTERM", caller, smtp), 60_000);

		const via = (gateway: "api-a" | "api-b", path: string) => `${bases[gateway]}${path}`;

		async function account(prefix: string) {
			const username = `${prefix}${randomBytes(3).toString("hex")}`;
			const email = `${username}@example.com`;
			const password = "a long enough password";
			await caller.call("auth.signUp", { username, email, password });
			const mail = await smtp.waitFor(m => m.to.includes(email));
			await caller.call("auth.verifyEmail", {
				token: tokenOf(linkIn(mail, "/verify-email")),
				password
			});
			const session = await caller.call<SessionTokens, object>("auth.signIn", {
				login: username,
				password
			});
			return { username, email, password, session };
		}

		async function send(
			gateway: "api-a" | "api-b",
			path: string,
			init: { method?: string; headers?: Record<string, string>; body?: object } = {}
		) {
			const res = await fetch(via(gateway, path), {
				method: init.method ?? "GET",
				headers: {
					...(init.body ? { "content-type": "application/json" } : {}),
					...init.headers
				},
				...(init.body ? { body: JSON.stringify(init.body) } : {})
			});
			const text = await res.text();
			return {
				status: res.status,
				body: text ? (JSON.parse(text) as Record<string, unknown>) : {}
			};
		}

		async function newKey(accessToken: string, body: object) {
			const res = await send("api-a", "/api/me/api-keys", {
				method: "POST",
				headers: { authorization: `Bearer ${accessToken}` },
				body
			});
			expect(res.status).toBe(200);
			const { token, key } = res.body as { token: string; key: { id: string } };
			return { token, id: key.id };
		}

		/** `n` concurrent GET /api/me with the key, alternating gateways: the statuses. */
		async function useConcurrently(key: string, n: number): Promise<number[]> {
			return Promise.all(
				Array.from({ length: n }, async (_, i) => {
					const res = await fetch(via(i % 2 ? "api-a" : "api-b", "/api/me"), {
						headers: { "x-api-key": key }
					});
					await res.arrayBuffer();
					return res.status;
				})
			);
		}

		/** Polls `probe` every 25 ms until it answers `refusal`; how long that took (ms). */
		async function refusedWithin(probe: () => Promise<number>, refusal = 401): Promise<number> {
			const started = Date.now();
			for (;;) {
				if ((await probe()) === refusal) return Date.now() - started;
				if (Date.now() - started > 5000) return Infinity;
				await new Promise(resolve => setTimeout(resolve, 25));
			}
		}

		it("spends a key's 100 credits across both gateways: never more, and all of them", async () => {
			const { session } = await account("credits");
			const { token } = await newKey(session.accessToken, {
				name: "metered",
				credits: { remaining: 100 }
			});
			const statuses = await useConcurrently(token, 1000);
			const passed = statuses.filter(s => s === 200).length;
			expect(statuses.filter(s => s !== 200 && s !== 429)).toEqual([]);
			expect(passed).toBeLessThanOrEqual(100);
			// What a node still holds goes back within the bound; then every credit is usable.
			await new Promise(resolve => setTimeout(resolve, HOLD_BOUND_MS + 200));
			let more = 0;
			for (let i = 0; ; i++) {
				const [status] = await useConcurrently(token, 1);
				if (status !== 200) break;
				more++;
				if (i > 200) break;
			}
			expect(passed + more).toBe(100);
		}, 60_000);

		it("passes between 45 and 50 of 200 concurrent uses of a key limited to 50 an hour", async () => {
			const { session } = await account("windows");
			const { token } = await newKey(session.accessToken, {
				name: "hourly",
				rateLimits: [{ name: "hourly", limit: 50, duration: 3600 }]
			});
			const statuses = await useConcurrently(token, 200);
			const passed = statuses.filter(s => s === 200).length;
			expect(statuses.filter(s => s !== 200 && s !== 429)).toEqual([]);
			expect(passed).toBeGreaterThanOrEqual(45);
			expect(passed).toBeLessThanOrEqual(50);
		}, 60_000);

		it("refuses a revoked key and a disabled key on the other gateway within 1 s", async () => {
			const { session } = await account("revoke");
			const bearer = { authorization: `Bearer ${session.accessToken}` };
			for (const end of ["revoke", "disable"] as const) {
				const key = await newKey(session.accessToken, { name: end });
				const probe = async () =>
					(await send("api-b", "/api/me", { headers: { "x-api-key": key.token } }))
						.status;
				// Warm: the key is in memory on whichever auth node answers through api-b.
				for (let i = 0; i < 10; i++) expect(await probe()).toBe(200);
				const res =
					end === "revoke"
						? await send("api-a", `/api/me/api-keys/${key.id}`, {
								method: "DELETE",
								headers: bearer
							})
						: await send("api-a", `/api/me/api-keys/${key.id}`, {
								method: "PUT",
								headers: bearer,
								body: { enabled: false }
							});
				expect(res.status).toBe(200);
				expect(await refusedWithin(probe)).toBeLessThanOrEqual(1000);
				// Refused on every auth node behind it, not just the one that answered first.
				for (let i = 0; i < 10; i++) expect(await probe()).toBe(401);
			}
		}, 60_000);

		it("refuses access tokens on the other gateway within 1 s of a sign-out everywhere and of a password reset", async () => {
			const user = await account("sessions");
			const probeWith = (accessToken: string) => async () =>
				(
					await send("api-b", "/api/me", {
						headers: { authorization: `Bearer ${accessToken}` }
					})
				).status;
			const everywhere = probeWith(user.session.accessToken);
			for (let i = 0; i < 10; i++) expect(await everywhere()).toBe(200);
			const out = await send("api-a", "/api/me/sign-out-everywhere", {
				method: "POST",
				headers: { authorization: `Bearer ${user.session.accessToken}` },
				body: {}
			});
			expect(out.status).toBe(200);
			expect(await refusedWithin(everywhere)).toBeLessThanOrEqual(1000);

			const again = await caller.call<SessionTokens, object>("auth.signIn", {
				login: user.username,
				password: user.password
			});
			const afterReset = probeWith(again.accessToken);
			for (let i = 0; i < 10; i++) expect(await afterReset()).toBe(200);
			await caller.call("auth.forgotPassword", { email: user.email });
			const mail = await smtp.waitFor(
				m => m.to.includes(user.email) && m.text.includes("/reset-password")
			);
			const reset = await send("api-a", "/api/auth/reset-password", {
				method: "POST",
				body: {
					token: tokenOf(linkIn(mail, "/reset-password")),
					password: "another long password",
					confirmPassword: "another long password"
				}
			});
			expect(reset.status).toBe(200);
			expect(await refusedWithin(afterReset)).toBeLessThanOrEqual(1000);
		}, 60_000);

		it("refuses a user's key and access token on the other gateway within 1 s of an admin's lock, recorded with the admin as actor", async () => {
			const admin = await account("admin");
			const target = await account("locked");
			const adminId = (
				await caller.call<{ users: { id: string; username: string }[] }, object>(
					"auth.adminListUsers",
					{ q: admin.username }
				)
			).users[0].id;
			// Bootstrapping from inside the cluster (as the REPL's users-grant-admin does).
			await caller.call("auth.adminSetRoles", { id: adminId, roles: ["user", "admin"] });
			const adminBearer = { authorization: `Bearer ${admin.session.accessToken}` };
			const enrol = await send("api-a", "/api/me/totp", {
				method: "POST",
				headers: adminBearer,
				body: {}
			});
			const key = base32Decode((enrol.body as { secret: string }).secret);
			const step = totpStep(Date.now());
			expect(
				(
					await send("api-a", "/api/me/totp/confirm", {
						method: "POST",
						headers: adminBearer,
						body: { code: hotp(key, step) }
					})
				).status
			).toBe(200);
			const { challenge } = (
				await send("api-a", "/api/auth/sign-in", {
					method: "POST",
					body: { login: admin.username, password: admin.password }
				})
			).body as { challenge: string };
			const signedIn = await send("api-a", "/api/auth/sign-in/totp", {
				method: "POST",
				body: { challenge, code: hotp(key, step + 1) }
			});
			expect(signedIn.status).toBe(200);
			const adminToken = (signedIn.body as { accessToken: string }).accessToken;

			const apiKey = await newKey(target.session.accessToken, { name: "lockme" });
			const targetId = (
				await send("api-b", "/api/me", {
					headers: { authorization: `Bearer ${target.session.accessToken}` }
				})
			).body.id as string;
			const keyProbe = async () =>
				(await send("api-b", "/api/me", { headers: { "x-api-key": apiKey.token } })).status;
			const jwtProbe = async () =>
				(
					await send("api-b", "/api/me", {
						headers: { authorization: `Bearer ${target.session.accessToken}` }
					})
				).status;
			for (let i = 0; i < 10; i++) {
				expect(await keyProbe()).toBe(200);
				expect(await jwtProbe()).toBe(200);
			}
			const locked = await send("api-a", `/api/admin/users/${targetId}/lock`, {
				method: "POST",
				headers: { authorization: `Bearer ${adminToken}` },
				body: { reason: "e2e" }
			});
			expect(locked.status).toBe(200);
			const [keyMs, jwtMs] = await Promise.all([
				refusedWithin(keyProbe, 403),
				refusedWithin(jwtProbe)
			]);
			expect(keyMs).toBeLessThanOrEqual(1000);
			expect(jwtMs).toBeLessThanOrEqual(1000);
			for (let i = 0; i < 10; i++) expect(await keyProbe()).toBe(403);
			const { entries } = await caller.call<{ entries: Record<string, unknown>[] }, object>(
				"audit.list",
				{ user: targetId, type: "admin.userLocked" }
			);
			expect(entries).toEqual([
				expect.objectContaining({ actor: adminId, subject: targetId, outcome: "success" })
			]);
		}, 60_000);

		it("answers passkey options from one gateway through the other, and gives one of 20 concurrent posts of an assertion a session", async () => {
			const { session } = await account("passkey");
			const bearer = { authorization: `Bearer ${session.accessToken}` };
			const authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN);
			const creation = await send("api-a", "/api/me/passkeys/options", {
				method: "POST",
				headers: bearer,
				body: {}
			});
			expect(creation.status).toBe(200);
			const added = await send("api-b", "/api/me/passkeys", {
				method: "POST",
				headers: bearer,
				body: { response: authenticator.create(creation.body as never) }
			});
			expect(added.status).toBe(200);
			const options = await send("api-b", "/api/auth/passkey/options", {
				method: "POST",
				body: {}
			});
			const response = authenticator.get(options.body as never);
			const answers = await Promise.all(
				Array.from({ length: 20 }, (_, i) =>
					send(i % 2 ? "api-a" : "api-b", "/api/auth/passkey/sign-in", {
						method: "POST",
						body: { response }
					})
				)
			);
			expect(answers.filter(a => a.status === 200)).toHaveLength(1);
			expect(answers.filter(a => a.status === 401)).toHaveLength(19);
		}, 60_000);

		it("never passes more than a key's credits when an auth node holding leases is killed, and strands at most a lease", async () => {
			const { session } = await account("killed");
			const credits = 2000;
			const { token } = await newKey(session.accessToken, {
				name: "killed",
				credits: { remaining: credits }
			});
			let passed = 0;
			let stop = false;
			const load = Array.from({ length: 16 }, async () => {
				while (!stop) {
					const [status] = await useConcurrently(token, 1).catch(() => [0]);
					if (status === 200) passed++;
					else if (status === 429) return;
				}
			});
			await eventually(async () => passed > 300, 20_000, "300 uses");
			await cluster.nodes["auth-b"].stop("SIGKILL");
			await Promise.race([
				Promise.all(load),
				new Promise(resolve => setTimeout(resolve, 30_000))
			]);
			stop = true;
			await Promise.all(load);
			// Let the survivor give back what it holds, then spend what is left.
			await new Promise(resolve => setTimeout(resolve, HOLD_BOUND_MS + 200));
			for (;;) {
				const [status] = await useConcurrently(token, 1);
				if (status !== 200) break;
				passed++;
			}
			const stranded = credits - passed;
			expect(passed).toBeLessThanOrEqual(credits);
			// One lease at most, and a lease is never more than 1/SHARE of what was left.
			expect(stranded).toBeLessThanOrEqual(Math.ceil(credits / SHARE));
			await start("auth-b");
		}, 90_000);
	});
});
