/**
 * The pools routes (seed 003's REST API) and the action-link pages over real HTTP, through the `api`
 * gateway on an ephemeral port, in front of real `pools` and `links` services.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { CreatedLink } from "../../../services/links.service";
import PoolsService from "../../../services/pools.service";
import { withSettings } from "../../helpers/broker";
import {
	TEST_ADMIN_TOKEN,
	startGateway,
	type TestGateway,
	linksAllowing
} from "../../helpers/gateway";
import { request } from "../../helpers/http";

const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describe("pools and links over REST", () => {
	let gw: TestGateway;
	const subscriptions: unknown[] = [];

	beforeAll(async () => {
		gw = await startGateway({
			services: [
				dataDir => withSettings(PoolsService, { dataDir }) as unknown as ServiceSchema,
				linksAllowing("newsletter.subscribe"),
				() => ({
					name: "newsletter",
					actions: {
						subscribe(ctx: Context<{ list: string }>) {
							subscriptions.push(ctx.params);
							return { subscribed: ctx.params.list };
						}
					}
				})
			]
		});
	});

	afterAll(async () => {
		await gw?.stop();
	});

	const post = (path: string, json: unknown, headers: Record<string, string> = ADMIN) =>
		request(`${gw.url}/api/pools${path}`, { method: "POST", headers, json });

	it("runs the seed's flow: generate (201), assign, keep-alive, unblock, delete", async () => {
		await gw.broker.call("pools.configure", { pool: "seed", size: 2, leaseTime: 60 });

		const generated = await post("/seed/generate-token", {});
		expect(generated.status).toBe(201);
		const { token } = generated.body as { token: string };
		expect(token).toMatch(/^mtl_/);
		expect((await post("/seed/generate-token", {})).status).toBe(201);
		const full = await post("/seed/generate-token", {});
		expect(full.status).toBe(403);
		expect(full.body).toMatchObject({ type: "POOL_FULL" });

		const a = await post("/seed/assign-token", { client_id: "client-a" });
		expect(a.status).toBe(200);
		const assigned = (a.body as { token: string }).token;
		expect((await post("/seed/assign-token", { client_id: "client-b" })).status).toBe(200);
		const none = await post("/seed/assign-token", { client_id: "client-c" });
		expect(none.status).toBe(404);
		expect(none.body).toMatchObject({ type: "NO_TOKEN_AVAILABLE" });

		const kept = await post("/seed/keep-alive", { token: assigned, client_id: "client-a" });
		expect(kept.status).toBe(200);
		expect(kept.body).toMatchObject({ ok: true });
		const intruder = await post("/seed/keep-alive", { token: assigned, clientId: "client-b" });
		expect(intruder.status).toBe(403);
		expect(intruder.body).toMatchObject({ type: "NOT_HOLDER" });

		expect((await post("/seed/unblock-token", { token: assigned })).status).toBe(200);
		const notAssigned = await post("/seed/unblock-token", { token: assigned });
		expect(notAssigned.status).toBe(403);
		expect(notAssigned.body).toMatchObject({ type: "NOT_ASSIGNED" });

		expect((await post("/seed/delete-token", { token: assigned })).status).toBe(200);
		const gone = await post("/seed/delete-token", { token: assigned });
		expect(gone.status).toBe(404);
		expect(gone.body).toMatchObject({ type: "NOT_FOUND" });

		const stats = await request(`${gw.url}/api/pools/seed`, { headers: ADMIN });
		expect(stats.status).toBe(200);
		expect(stats.body).toMatchObject({ size: 2, tokens: 1, assigned: 1, available: 0 });
	});

	it("answers 422 naming the field, 401 without the admin credential", async () => {
		const bad = await post("/seed/assign-token", { client_id: 42 });
		expect(bad.status).toBe(422);
		expect(JSON.stringify(bad.body)).toContain("clientId");
		const anonymous = await post("/seed/generate-token", {}, {});
		expect(anonymous.status).toBe(401);
		const stats = await gw.broker.call<{ tokens: number }, object>("pools.stats", {
			pool: "seed"
		});
		expect(stats.tokens).toBe(1);
	});

	it("never logs a pool token, whatever the outcome of the call", async () => {
		gw.logs.lines.length = 0;
		const { token } = (await post("/logged/generate-token", {})).body as { token: string };
		await post("/logged/assign-token", { client_id: "c" });
		await post("/logged/keep-alive", { token, client_id: "c" });
		await post("/logged/keep-alive", { token, client_id: "someone-else" });
		await post("/logged/delete-token", { token });
		expect(gw.logs.text()).not.toContain(token);
	});

	it("locks a multi-use link between uses: the second POST gets the 423 page", async () => {
		const link = await gw.broker.call<CreatedLink, object>("links.create", {
			owner: "u",
			action: "newsletter.subscribe",
			params: { list: "weekly" },
			multiUse: true,
			lockTimeout: 60
		});
		const path = new URL(link.url).pathname;
		const first = await request(`${gw.url}${path}`, { method: "POST" });
		expect(first.status).toBe(200);
		const second = await request(`${gw.url}${path}`, { method: "POST" });
		expect(second.status).toBe(423);
		expect(subscriptions).toEqual([{ list: "weekly" }]);
		// The confirm page still shows: loading is not an access.
		expect((await request(`${gw.url}${path}`)).status).toBe(200);
	});
});
