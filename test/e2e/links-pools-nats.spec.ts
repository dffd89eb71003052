/**
 * `links` and `pools` called with broker.call from another node over the real NATS server: a service
 * node (links, pools), a target node (the action links call) and a caller node, each its own broker.
 */
import type { Context, ServiceBroker } from "moleculer";
import LinksService, { type CreatedLink, type RedeemResult } from "../../services/links.service";
import PoolsService from "../../services/pools.service";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../helpers/broker";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../helpers/nats";

type Assigned = { token: string; leaseExpiresAt: string };

describeWithNats("links and pools over NATS", () => {
	let dataDir: string;
	let namespace: string;
	let serviceNode: ServiceBroker;
	let targetNode: ServiceBroker;
	let callerNode: ServiceBroker;
	const calls: { params: unknown; link: unknown; nodeID: string }[] = [];

	function startServiceNode(): Promise<void> {
		serviceNode = createTestBroker({
			namespace,
			nodeID: `service-node-${Date.now()}`,
			transporter: natsTransporter()
		});
		serviceNode.createService(
			withSettings(LinksService, {
				dataDir,
				allowedActions: ["newsletter.subscribe"],
				publicUrl: "https://shop.example.com"
			})
		);
		serviceNode.createService(withSettings(PoolsService, { dataDir }));
		return serviceNode.start();
	}

	beforeAll(async () => {
		dataDir = tempDataDir();
		namespace = uniqueNamespace("links-pools-e2e");
		targetNode = createTestBroker({
			namespace,
			nodeID: "target-node",
			transporter: natsTransporter()
		});
		targetNode.createService({
			name: "newsletter",
			actions: {
				subscribe(ctx: Context<{ email: string }, { link?: unknown }>) {
					calls.push({ params: ctx.params, link: ctx.meta.link, nodeID: ctx.nodeID! });
					return { subscribed: ctx.params.email };
				}
			}
		});
		callerNode = createTestBroker({
			namespace,
			nodeID: "caller-node",
			transporter: natsTransporter()
		});
		await Promise.all([startServiceNode(), targetNode.start(), callerNode.start()]);
		await callerNode.waitForServices(["links", "pools"], 10_000, 50);
		await serviceNode.waitForServices(["newsletter"], 10_000, 50);
	});

	afterAll(async () => {
		await Promise.all([callerNode?.stop(), targetNode?.stop(), serviceNode?.stop()]);
		removeDir(dataDir);
	});

	describe("links", () => {
		const create = (params: Record<string, unknown> = {}) =>
			callerNode.call<CreatedLink, Record<string, unknown>>("links.create", {
				owner: "user123",
				action: "newsletter.subscribe",
				params: { email: "a@example.com" },
				expiry: 3600,
				...params
			});

		it("creates, loads and redeems a link; the action runs on a third node", async () => {
			const link = await create();
			expect(link.url).toBe(`https://shop.example.com/token/${link.token}`);
			expect(await callerNode.call("links.load", { token: link.token })).toMatchObject({
				id: link.id,
				action: "newsletter.subscribe",
				params: { email: "a@example.com" }
			});
			expect(await callerNode.call("links.isValid", { token: link.token })).toBe(true);

			const redeemed = await callerNode.call<RedeemResult, object>("links.redeem", {
				token: link.token
			});
			expect(redeemed).toEqual({
				action: "newsletter.subscribe",
				result: { subscribed: "a@example.com" }
			});
			expect(calls.at(-1)).toMatchObject({
				params: { email: "a@example.com" },
				link: { id: link.id, owner: "user123" }
			});
			await expect(
				callerNode.call("links.redeem", { token: link.token })
			).rejects.toMatchObject({ code: 404, type: "INVALID_OR_EXPIRED_TOKEN" });
		});

		it("spends a link once among 1,000 concurrent remote redeems", async () => {
			const link = await create({ params: { email: "race@example.com" } });
			const before = calls.length;
			const results = await Promise.allSettled(
				Array.from({ length: 1000 }, () =>
					callerNode.call("links.redeem", { token: link.token })
				)
			);
			expect(results.filter(r => r.status === "fulfilled")).toHaveLength(1);
			expect(calls.length - before).toBe(1);
		});

		it("locks a multi-use link across the wire (423), one winner per lock period", async () => {
			const link = await create({ multiUse: true, lockTimeout: 60 });
			const round = () =>
				Promise.allSettled(
					Array.from({ length: 200 }, () =>
						callerNode.call("links.redeem", { token: link.token })
					)
				);
			const first = await round();
			expect(first.filter(r => r.status === "fulfilled")).toHaveLength(1);
			expect(first.find(r => r.status === "rejected")).toMatchObject({
				reason: { code: 423, type: "LOCKED" }
			});
			// All nodes share this process's clock: move it past the lock.
			const realNow = Date.now;
			Date.now = () => realNow() + 60_000;
			try {
				const second = await round();
				expect(second.filter(r => r.status === "fulfilled")).toHaveLength(1);
			} finally {
				Date.now = realNow;
			}
		});

		it("answers 422 naming the field and 403 for an action off the allow-list", async () => {
			await expect(
				callerNode.call("links.create", { owner: 5, action: "newsletter.subscribe" })
			).rejects.toMatchObject({
				code: 422,
				data: [expect.objectContaining({ field: "owner" })]
			});
			await expect(create({ action: "$node.services" })).rejects.toMatchObject({
				code: 403,
				type: "ACTION_NOT_ALLOWED"
			});
		});
	});

	describe("pools", () => {
		it("gives exactly 10 of 1,000 remote clients a token from a pool of 10", async () => {
			await callerNode.call("pools.configure", { pool: "e2e", size: 10, leaseTime: 60 });
			for (let i = 0; i < 10; i++) await callerNode.call("pools.generate", { pool: "e2e" });
			await expect(callerNode.call("pools.generate", { pool: "e2e" })).rejects.toMatchObject({
				code: 403,
				type: "POOL_FULL"
			});
			const results = await Promise.allSettled(
				Array.from({ length: 1000 }, (_, i) =>
					callerNode.call<Assigned, object>("pools.assign", {
						pool: "e2e",
						clientId: `client-${i}`
					})
				)
			);
			const won = results.filter(r => r.status === "fulfilled");
			expect(won).toHaveLength(10);
			expect(
				new Set(won.map(r => (r as PromiseFulfilledResult<Assigned>).value.token)).size
			).toBe(10);
			expect(results.find(r => r.status === "rejected")).toMatchObject({
				reason: { code: 404, type: "NO_TOKEN_AVAILABLE" }
			});
		});

		it("keep-alive, unblock and delete with their errors across the wire", async () => {
			await callerNode.call("pools.configure", { pool: "ops", size: 2, leaseTime: 60 });
			const { token } = await callerNode.call<{ token: string }, object>("pools.generate", {
				pool: "ops"
			});
			const a = await callerNode.call<Assigned, object>("pools.assign", {
				pool: "ops",
				clientId: "alice"
			});
			expect(a.token).toBe(token);
			expect(
				await callerNode.call("pools.keepAlive", { pool: "ops", token, clientId: "alice" })
			).toMatchObject({ ok: true });
			await expect(
				callerNode.call("pools.keepAlive", { pool: "ops", token, clientId: "bob" })
			).rejects.toMatchObject({ code: 403, type: "NOT_HOLDER" });
			expect(await callerNode.call("pools.unblock", { pool: "ops", token })).toEqual({
				ok: true
			});
			await expect(
				callerNode.call("pools.unblock", { pool: "ops", token })
			).rejects.toMatchObject({ code: 403, type: "NOT_ASSIGNED" });
			expect(await callerNode.call("pools.delete", { pool: "ops", token })).toEqual({
				ok: true
			});
			await expect(
				callerNode.call("pools.delete", { pool: "ops", token })
			).rejects.toMatchObject({ code: 404, type: "NOT_FOUND" });
			await expect(
				callerNode.call("pools.assign", { pool: "ops", clientId: 42 })
			).rejects.toMatchObject({
				code: 422,
				data: [expect.objectContaining({ field: "clientId" })]
			});
		});
	});

	it("keeps links and leases when the service node is replaced (same data folder)", async () => {
		await callerNode.call("pools.configure", { pool: "restart", size: 1, leaseTime: 600 });
		const { token } = await callerNode.call<{ token: string }, object>("pools.generate", {
			pool: "restart"
		});
		await callerNode.call("pools.assign", { pool: "restart", clientId: "keeper" });
		const link = await callerNode.call<CreatedLink, object>("links.create", {
			owner: "u",
			action: "newsletter.subscribe",
			params: { email: "restart@example.com" }
		});

		await serviceNode.stop();
		await startServiceNode();
		await callerNode.waitForServices(["links", "pools"], 10_000, 50);
		await serviceNode.waitForServices(["newsletter"], 10_000, 50);

		await expect(
			callerNode.call("pools.assign", { pool: "restart", clientId: "other" })
		).rejects.toMatchObject({ type: "NO_TOKEN_AVAILABLE" });
		expect(
			await callerNode.call("pools.keepAlive", {
				pool: "restart",
				token,
				clientId: "keeper"
			})
		).toMatchObject({ ok: true });
		expect(
			await callerNode.call<RedeemResult, object>("links.redeem", { token: link.token })
		).toEqual({
			action: "newsletter.subscribe",
			result: { subscribed: "restart@example.com" }
		});
	});
});
