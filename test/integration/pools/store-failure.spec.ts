/**
 * The `pools` service when its embedded store cannot write (pools.db pointed at /dev/full,
 * test/helpers/disk-full): writes answer a retryable 503 STORE_UNAVAILABLE without the cause, and a
 * failed write changes nothing: no token generated, leased, released or deleted in memory either.
 */
import type { ServiceBroker } from "moleculer";
import PoolsService, { type PoolStats } from "../../../services/pools.service";
import { removeDir, startService, tempDataDir } from "../../helpers/broker";
import { DiskFull, expectStoreUnavailable, rejection } from "../../helpers/disk-full";
import { CapturingLogger } from "../../helpers/logs";

describe("pools when the embedded store cannot write", () => {
	let dataDir: string;
	let broker: ServiceBroker;
	let logs: CapturingLogger;
	let disk: DiskFull;

	beforeEach(async () => {
		dataDir = tempDataDir();
		logs = new CapturingLogger();
		broker = await startService(PoolsService, { dataDir }, { logger: logs, logLevel: "info" });
		disk = new DiskFull(dataDir, "pools.db");
	});

	afterEach(async () => {
		disk.stop();
		await broker.stop();
		removeDir(dataDir);
	});

	const call = <T>(action: string, params: object) =>
		broker.call<T, object>(`pools.${action}`, params);
	const stats = () => call<PoolStats>("stats", { pool: "p" });

	it("failed writes change nothing; every operation works once the disk is back", async () => {
		await call("configure", { pool: "p", size: 3, leaseTime: 60 });
		const held = await call<{ token: string }>("generate", { pool: "p" });
		await call("generate", { pool: "p" });
		await call("assign", { pool: "p", clientId: "a" });
		const before = await stats();
		expect(before).toMatchObject({ tokens: 2, available: 1, assigned: 1 });
		disk.start();

		const failing: [string, object][] = [
			["configure", { pool: "p", size: 5, leaseTime: 60 }],
			["generate", { pool: "p" }],
			["assign", { pool: "p", clientId: "b" }],
			["delete", { pool: "p", token: held.token }]
		];
		for (const [action, params] of failing) {
			expectStoreUnavailable(await rejection(call(action, params)), dataDir);
		}
		expect(logs.text()).toMatch(/pools\.assign failed: .*ENOSPC/);
		// Without the rollback NeDB's memory had the new size, a third token and a second lease.
		expect(await stats()).toEqual(before);

		disk.stop();
		const lease = await call<{ token: string }>("assign", { pool: "p", clientId: "b" });
		expect(await call("unblock", { pool: "p", token: lease.token })).toEqual({ ok: true });
		expect(await call("delete", { pool: "p", token: held.token })).toEqual({ ok: true });
		expect(await call("generate", { pool: "p" })).toMatchObject({ token: expect.any(String) });
		expect(await stats()).toMatchObject({ size: 3, tokens: 2 });
	});
});
