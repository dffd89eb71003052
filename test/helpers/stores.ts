/**
 * A storing service started on one adapter, the way the service gets its store (the db mixin), for
 * the store contract suites: "nedb" with MONGO_URI out of the way while the service is created,
 * "mongo" on MONGO_URI with its collections emptied, "postgres" in a schema of its own on the test
 * database, dropped when the service stops.
 */
import type { ServiceBroker, ServiceSchema } from "moleculer";
import type { StoreKind } from "../../mixins/db.mixin";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "./broker";
import { dropSchema, postgresKinds, TEST_DATABASE_URL, uniqueSchema } from "./postgres";
import AuthService from "../../services/auth/auth.service";
import { FAST_SCRYPT } from "./auth";

export type { StoreKind };

interface MongoHandles {
	collection?: { deleteMany(filter: object): Promise<unknown> };
	db?: { collection(name: string): { deleteMany(filter: object): Promise<unknown> } };
}

export interface ServiceOnStore<S> {
	broker: ServiceBroker;
	service: S;
	stop(): Promise<void>;
}

export async function startServiceOnStore<S>(
	kind: StoreKind,
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	schema: ServiceSchema<any, any, any, any>,
	name: string,
	options: { settings?: Record<string, unknown>; alsoEmpty?: string[] } = {}
): Promise<ServiceOnStore<S>> {
	const savedUri = process.env.MONGO_URI;
	if (kind === "nedb") delete process.env.MONGO_URI;
	const dataDir = tempDataDir();
	const database =
		kind === "postgres"
			? { databaseUrl: TEST_DATABASE_URL, databaseSchema: uniqueSchema() }
			: {};
	let broker: ServiceBroker;
	try {
		broker = createTestBroker();
		broker.createService(withSettings(schema, { dataDir, ...database, ...options.settings }));
	} finally {
		if (savedUri !== undefined) process.env.MONGO_URI = savedUri;
	}
	await broker.start();
	const service = broker.getLocalService(name) as unknown as S & {
		storeKind: string;
		adapter: MongoHandles;
	};
	expect(service.storeKind).toBe(kind);
	if (kind === "mongo") {
		await service.adapter.collection!.deleteMany({});
		for (const other of options.alsoEmpty ?? []) {
			await service.adapter.db!.collection(other).deleteMany({});
		}
	}
	return {
		broker,
		service,
		async stop() {
			await broker.stop();
			removeDir(dataDir);
			if (database.databaseSchema) await dropSchema(database.databaseSchema);
		}
	};
}

/**
 * The stores a contract suite runs on: NeDB always; PostgreSQL when it answers (always in CI);
 * MongoDB when MONGO_URI is set (no MongoDB can run on our CI machines).
 */
export function storeKinds(suite: string): StoreKind[] {
	const kinds: StoreKind[] = ["nedb", ...postgresKinds<StoreKind>(suite)];
	if (process.env.MONGO_URI) kinds.push("mongo");
	else console.warn(`Skipping the MongoDB half of ${suite}: MONGO_URI is not set.`);
	return kinds;
}

/** `auth` on `kind` with fast password hashing, `alsoEmpty` emptied between suites like its users. */
export function startAuthOnStore<S>(kind: StoreKind, alsoEmpty: string[] = []) {
	return startServiceOnStore<S>(kind, AuthService, "auth", {
		settings: { password: FAST_SCRYPT },
		alsoEmpty
	});
}
