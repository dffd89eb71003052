/**
 * The db mixin on a real broker: which store a service gets, and the embedded store's files.
 */
import { chmodSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Service, ServiceBroker } from "moleculer";
import createDbMixin, { type StoreOwner } from "../../../mixins/db.mixin";
import { createTestBroker, removeDir, tempDataDir } from "../../helpers/broker";

describe("db mixin", () => {
	let broker: ServiceBroker;
	let dataDir: string;
	const savedUri = process.env.MONGO_URI;
	const built: string[] = [];

	/** A store class per adapter that records which one the mixin built. */
	const recording = (describeBuild: (...args: unknown[]) => string) =>
		class {
			constructor(...args: unknown[]) {
				built.push(describeBuild(...args));
			}
			async ensureIndexes(): Promise<void> {}
		};
	const mixin = () =>
		createDbMixin("things", {
			nedb: recording(() => "nedb"),
			mongo: recording(collection => (collection ? "mongo" : "mongo without a collection")),
			postgres: recording((_sql, schema) => `postgres:${String(schema)}`)
		});

	beforeEach(() => {
		built.length = 0;
		dataDir = tempDataDir();
		delete process.env.MONGO_URI;
		broker = createTestBroker();
	});

	afterEach(async () => {
		await broker.stop();
		removeDir(dataDir);
		if (savedUri === undefined) delete process.env.MONGO_URI;
		else process.env.MONGO_URI = savedUri;
	});

	it("chooses the store once, with the adapter: MONGO_URI set after creation changes nothing", async () => {
		const service = broker.createService({
			name: "things",
			mixins: [mixin()],
			settings: { dataDir }
		}) as Service & StoreOwner<unknown>;
		// A suite (or anything else) changing the environment between creation and start.
		process.env.MONGO_URI = "mongodb://127.0.0.1:1/never-reached";
		await broker.start();
		expect(built).toEqual(["nedb"]);
		expect(service.storeKind).toBe("nedb");
	});

	it("creates the embedded store's file 0600 in a 0700 folder, and tightens existing ones", async () => {
		// As a data folder made before the modes were set would be.
		chmodSync(dataDir, 0o755);
		writeFileSync(join(dataDir, "things.db"), "", { mode: 0o644 });
		broker.createService({ name: "things", mixins: [mixin()], settings: { dataDir } });
		await broker.start();
		expect(statSync(join(dataDir, "things.db")).mode & 0o777).toBe(0o600);
		expect(statSync(dataDir).mode & 0o777).toBe(0o700);
	});
});
