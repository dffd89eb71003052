/**
 * The `links` service when its embedded store cannot write (links.db pointed at /dev/full,
 * test/helpers/disk-full): create, redeem and invalidate answer a retryable 503 STORE_UNAVAILABLE
 * without the cause, nothing is spent, locked or created, and the link's action is not called.
 */
import type { Context, ServiceBroker } from "moleculer";
import LinksService, { type CreatedLink, type LinkEntity } from "../../../services/links.service";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../../helpers/broker";
import { DiskFull, expectStoreUnavailable, rejection } from "../../helpers/disk-full";
import { CapturingLogger } from "../../helpers/logs";

describe("links when the embedded store cannot write", () => {
	let dataDir: string;
	let broker: ServiceBroker;
	let logs: CapturingLogger;
	let disk: DiskFull;
	const calls: unknown[] = [];

	beforeEach(async () => {
		dataDir = tempDataDir();
		logs = new CapturingLogger();
		broker = createTestBroker({ logger: logs, logLevel: "info" });
		broker.createService(
			withSettings(LinksService, { dataDir, allowedActions: ["newsletter.subscribe"] })
		);
		broker.createService({
			name: "newsletter",
			actions: {
				subscribe(ctx: Context) {
					calls.push(ctx.params);
					return true;
				}
			}
		});
		await broker.start();
		disk = new DiskFull(dataDir, "links.db");
	});

	afterEach(async () => {
		disk.stop();
		await broker.stop();
		removeDir(dataDir);
	});

	const create = (multiUse = false) =>
		broker.call<CreatedLink, object>("links.create", {
			owner: "o",
			action: "newsletter.subscribe",
			params: { list: "news" },
			multiUse
		});
	const load = (token: string) => broker.call<LinkEntity | null, object>("links.load", { token });

	it("failed writes change nothing: the link stays unspent, unlocked and valid, and works once the disk is back", async () => {
		const once = await create();
		const multi = await create(true);
		disk.start();

		expectStoreUnavailable(await rejection(create()), dataDir);
		for (const link of [once, multi]) {
			expectStoreUnavailable(
				await rejection(broker.call("links.redeem", { token: link.token })),
				dataDir
			);
		}
		expectStoreUnavailable(
			await rejection(broker.call("links.invalidate", { token: once.token })),
			dataDir
		);
		expect(logs.text()).toMatch(/links\.redeem failed: .*ENOSPC/);
		expect(calls).toEqual([]);
		// Without the rollback NeDB's memory had spent the one-time link and locked the other.
		expect(await load(once.token)).toMatchObject({ id: once.id, uses: 0 });
		expect(await load(multi.token)).toMatchObject({ lockedUntil: null, uses: 0 });

		disk.stop();
		for (const link of [once, multi]) {
			expect(await broker.call("links.redeem", { token: link.token })).toMatchObject({
				action: "newsletter.subscribe"
			});
		}
		expect(calls).toHaveLength(2);
		expect(await load(once.token)).toBeNull();
		expect(await create()).toMatchObject({ action: "newsletter.subscribe" });
	});
});
