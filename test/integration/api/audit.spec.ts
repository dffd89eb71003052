/**
 * The audit trail over HTTP and the broker, on the embedded store and PostgreSQL: what auth's
 * events record (with who, from where, which request), a user's own security events with paging,
 * the operator's search and NDJSON export, verification, retention behind a checkpoint, a burst
 * of failed sign-ins, and (on PostgreSQL) entries changed, removed and inserted in the database
 * named by the verification.
 */
import postgres from "postgres";
import type { Context } from "moleculer";
import AuditService from "../../../services/audit.service";
import { authService } from "../../helpers/auth";
import { startGateway, storeOn, TEST_ADMIN_TOKEN, type TestGateway } from "../../helpers/gateway";
import { request } from "../../helpers/http";
import { postgresKinds, TEST_DATABASE_URL } from "../../helpers/postgres";
import { later } from "../../helpers/async";
import { withSettings } from "../../helpers/broker";
import * as repl from "../../../lib/broker/repl-commands";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { buildOnce, ROOT } from "../../helpers/process";

const kinds = ["nedb" as const, ...postgresKinds<"postgres">("the audit trail")];
type Json = Record<string, unknown>;
type Report = repl.AuditReport;

describe.each(kinds)("the audit trail, on %s", kind => {
	let gw: TestGateway;
	const stored = storeOn(kind);
	const password = "long enough password";
	const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

	const recorded: { type: string; subject: string | null }[] = [];

	beforeAll(async () => {
		gw = await startGateway({
			services: [
				authService({ requireVerifiedEmail: false }),
				dataDir => withSettings(AuditService, { dataDir }),
				() => ({
					name: "audit-listener",
					events: {
						"audit.recorded"(ctx: Context<{ type: string; subject: string | null }>) {
							recorded.push(ctx.params);
						}
					}
				})
			],
			storeSettings: stored,
			settings: { rateLimit: { window: 60, public: 100_000, user: 100_000, admin: 100_000 } }
		});
	}, 60_000);
	afterAll(() => gw?.stop());

	const api = (path: string) => `${gw.url}${path}`;
	const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
		request(api(path), { method: "POST", json, headers });
	const flush = () => gw.broker.call("audit.verify", {}) as Promise<Report>;

	async function account(username: string) {
		const signUp = await post("/api/auth/sign-up", {
			username,
			email: `${username}@example.com`,
			password
		});
		const id = (signUp.body as { user: { id: string } }).user.id;
		const session = (
			await post(
				"/api/auth/sign-in",
				{ login: username, password },
				{ "user-agent": "audit-test/1.0", "x-forwarded-for": "198.51.100.20" }
			)
		).body as { accessToken: string };
		return { id, token: session.accessToken };
	}

	it("records sign-up, sign-in and a failed sign-in with method, address, agent and request, never the password", async () => {
		const { id, token } = await account("aud_ada");
		await post("/api/auth/sign-in", { login: "aud_ada", password: "wrong password 123" });
		await flush();
		const mine = await request(api("/api/me/security-events"), {
			headers: { authorization: `Bearer ${token}` }
		});
		expect(mine.status).toBe(200);
		const events = (mine.body as { events: Json[] }).events;
		expect(events.map(e => [e.type, e.outcome])).toEqual([
			["auth.signInFailed", "failure"],
			["auth.signedIn", "success"],
			["auth.userCreated", "success"]
		]);
		expect(events[0]).toMatchObject({ method: "password" });
		expect(events[1]).toMatchObject({ method: "password", userAgent: "audit-test/1.0" });
		const all = await request(api(`/api/admin/audit?user=${id}`), { headers: admin });
		const entries = (all.body as { entries: Json[] }).entries;
		expect(entries[0]).toMatchObject({
			type: "auth.signInFailed",
			subject: id,
			actor: id,
			data: { method: "password", reason: "INVALID_CREDENTIALS" }
		});
		expect(entries[1]).toMatchObject({
			requestId: expect.any(String),
			node: expect.any(String)
		});
		expect(JSON.stringify(all.body)).not.toMatch(/long enough password|wrong password/);
		// Each entry is announced on the broker, for other services.
		expect(recorded.filter(r => r.subject === id).map(r => r.type)).toEqual([
			"auth.userCreated",
			"auth.signedIn",
			"auth.signInFailed"
		]);
		expect(JSON.stringify(recorded)).not.toMatch(/password/);
	});

	it("pages a user's events with a cursor, and refuses a made-up cursor naming the field", async () => {
		const { token } = await account("aud_pages");
		for (let i = 0; i < 4; i++) {
			await post("/api/auth/sign-in", {
				login: "aud_pages",
				password: `wrong password ${i}0`
			});
		}
		await flush();
		const bearer = { authorization: `Bearer ${token}` };
		const first = (await request(api("/api/me/security-events?limit=2"), { headers: bearer }))
			.body as { events: Json[]; next: string };
		const second = (
			await request(api(`/api/me/security-events?limit=10&cursor=${first.next}`), {
				headers: bearer
			})
		).body as { events: Json[]; next: string | null };
		expect(first.events).toHaveLength(2);
		expect(second.events).toHaveLength(4);
		expect(second.next).toBeNull();
		const bad = await request(api("/api/me/security-events?cursor=nonsense"), {
			headers: bearer
		});
		expect(bad.status).toBe(422);
		expect(bad.body).toMatchObject({ data: [expect.objectContaining({ field: "cursor" })] });
		expect((await request(api("/api/me/security-events"))).status).toBe(401);
		// A user's session is no admin credential (a known user, not allowed: 403).
		expect((await request(api("/api/admin/audit"), { headers: bearer })).status).toBe(403);
	});

	it("exports NDJSON since a time, filters by type, and verifies every chain", async () => {
		const since = new Date(Date.now() - 60_000).toISOString();
		const res = await fetch(api(`/api/admin/audit/export?since=${since}`), { headers: admin });
		expect(res.headers.get("content-type")).toContain("application/x-ndjson");
		const lines = (await res.text())
			.trim()
			.split("\n")
			.map(l => JSON.parse(l) as Json);
		expect(lines.length).toBeGreaterThan(5);
		expect(lines.every(l => typeof l.type === "string" && typeof l.id === "string")).toBe(true);
		const failed = (
			await request(api("/api/admin/audit?type=auth.signInFailed&limit=500"), {
				headers: admin
			})
		).body as { entries: Json[] };
		expect(failed.entries.length).toBeGreaterThanOrEqual(5);
		expect(failed.entries.every(e => e.type === "auth.signInFailed")).toBe(true);
		const report = await flush();
		expect(report.problems).toEqual([]);
		expect(report.entries).toBeGreaterThan(5);
		// Optional filters given as null are absent.
		const nulls = await gw.broker.call<{ entries: unknown[] }, object>("audit.list", {
			user: null,
			type: null,
			since: null,
			until: null,
			cursor: null,
			limit: null
		});
		expect(nulls.entries.length).toBeGreaterThan(5);
	});

	it("records 1,000 failed sign-ins, limited or not, as 1,000 entries", async () => {
		await account("aud_burst");
		const before = (await flush()).entries;
		const answers = await Promise.all(
			Array.from({ length: 1000 }, (_, i) =>
				gw.broker
					.call("auth.signIn", { login: "aud_burst", password: `wrong password ${i}00` })
					.then(
						() => "signed in",
						(err: { type?: string }) => err.type
					)
			)
		);
		// Every one refused as a failed sign-in (on PostgreSQL, 1,000 limiter transactions at once).
		expect(new Set(answers)).toEqual(new Set(["INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS"]));
		// Events travel on after the calls answer: wait for the last of them (never more than 1,000).
		let recorded = 0;
		for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
			recorded = (await flush()).entries - before;
			if (recorded >= 1000) break;
			await new Promise(resolve => setTimeout(resolve, 100));
		}
		expect(recorded).toBe(1000);
	}, 60_000);

	it("removes entries past retention behind a checkpoint, and the chains still verify", async () => {
		const { removed } = await later(400 * 86_400_000, () =>
			gw.broker.call<{ removed: number }, object>(
				"audit.removeOld",
				{},
				{ nodeID: gw.broker.nodeID }
			)
		);
		expect(removed).toBeGreaterThan(1000);
		const { token } = await account("aud_after");
		await flush();
		const report = await flush();
		expect(report.problems).toEqual([]);
		expect(report.entries).toBeGreaterThanOrEqual(2);
		const events = (
			await request(api("/api/me/security-events"), {
				headers: { authorization: `Bearer ${token}` }
			})
		).body as { events: Json[] };
		expect(events.events.length).toBe(2);
	});

	if (kind === "postgres") {
		it("names an entry changed, removed or inserted directly in PostgreSQL", async () => {
			for (let i = 0; i < 5; i++) await account(`aud_tamper${i}`);
			await flush();
			const sql = postgres(TEST_DATABASE_URL, {
				max: 1,
				onnotice: () => undefined,
				connection: { search_path: String(stored.databaseSchema) }
			});
			const print: string[] = [];
			const verify = async () => {
				print.length = 0;
				return (await repl.auditVerify(gw.broker, l => print.push(l))).problems;
			};
			try {
				const [{ chain }] = await sql<
					{ chain: string }[]
				>`select chain from audit_entries limit 1`;
				const at = async (n: number) =>
					(
						await sql<{ seq: string }[]>`
							select seq from audit_entries where chain = ${chain} order by seq desc offset ${n} limit 1`
					)[0].seq;
				const changed = await at(3);
				await sql`update audit_entries set outcome = 'failure' where chain = ${chain} and seq = ${changed}`;
				expect(await verify()).toEqual([
					{ chain, kind: "forged", id: `${chain}:${changed}` }
				]);
				expect(print.join("\n")).toContain(`entry ${chain}:${changed} does not verify`);
				await sql`update audit_entries set outcome = 'success' where chain = ${chain} and seq = ${changed}`;
				expect(await verify()).toEqual([]);

				const gone = await at(2);
				const kept =
					await sql`select * from audit_entries where chain = ${chain} and seq = ${gone}`;
				await sql`delete from audit_entries where chain = ${chain} and seq = ${gone}`;
				expect(await verify()).toEqual([
					{ chain, kind: "removed", after: `${chain}:${Number(gone) - 1}`, missing: 1 }
				]);
				await sql`insert into audit_entries ${sql(kept[0])}`;
				expect(await verify()).toEqual([]);

				const last = Number(await at(0));
				await sql`
					insert into audit_entries
					select chain, seq + 1, mac, 'made-up', at, 'auth.roleChanged', outcome, actor, subject,
						ip, user_agent, request_id, node, data
					from audit_entries where chain = ${chain} and seq = ${last}`;
				expect(await verify()).toEqual([
					{ chain, kind: "forged", id: `${chain}:${last + 1}` }
				]);
				// `npm run audit:verify` on the same store names it too, and exits 1.
				buildOnce();
				const script = spawnSync(
					process.execPath,
					[join(ROOT, "dist/bin/audit-verify.js")],
					{
						env: {
							PATH: process.env.PATH ?? "",
							DATABASE_URL: TEST_DATABASE_URL,
							DATABASE_SCHEMA: String(stored.databaseSchema),
							DATA_DIR: gw.dataDir
						},
						encoding: "utf8",
						timeout: 30_000
					}
				);
				expect(script.stdout).toContain(`entry ${chain}:${last + 1} does not verify`);
				expect(script.status).toBe(1);
				await sql`delete from audit_entries where chain = ${chain} and seq = ${last + 1}`;
			} finally {
				await sql.end({ timeout: 5 });
			}
		});
	}
});
