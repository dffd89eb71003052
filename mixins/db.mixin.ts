/**
 * Storage for a service: moleculer-db with the embedded NeDB adapter (one file per collection under
 * DATA_DIR) by default, PostgreSQL when DATABASE_URL is set, or MongoDB when MONGO_URI is set. The
 * service gets `this.store`, built by the factory for the adapter in use, once the adapter has
 * connected and the store's tables or indexes exist.
 *
 * moleculer-db's CRUD actions (list, find, get, create, update, remove…) are left out on purpose:
 * they would be published by the gateway, and their parameters would merge into ours (its `remove`
 * requires an `id`).
 *
 * Every storing service also gets, from here:
 * - NeDB writes that the data file did not take undone in memory too (lib/store/nedb/write-rollback), so a
 *   failed write changes nothing;
 * - store failures answered as a retryable 503 STORE_UNAVAILABLE (any other unexpected error as a
 *   bare 500), never a driver's message or a file path; the cause goes to this node's log.
 */
import { chmod } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import DbService from "moleculer-db";
import MongoDbAdapter from "moleculer-db-adapter-mongo";
import type Datastore from "@seald-io/nedb";
import type { MongoCollection } from "../lib/store/mongo/collection";
import { dataDirFromEnv } from "../lib/config/env";
import type { SideStoreFactories } from "../lib/store/side-stores";
import { rollBackFailedWrites } from "../lib/store/nedb/write-rollback";
import { describeCause, INVALID_DATA, publicError } from "../lib/store/store-errors";
import {
	databaseTargetFromEnv,
	PostgresAdapter,
	type SharedDatabase,
	type Sql
} from "../lib/store/postgres/database";

import { claimScheduledRun } from "../lib/store/postgres/postgres-scheduled-runs";
import {
	claimScheduledRunOnMongo,
	type ScheduledRunDocument
} from "../lib/store/mongo/mongo-scheduled-runs";
import { count } from "../lib/broker/project-metrics";

export type { SharedDatabase };

/**
 * A store's class for each adapter: what `lib/<domain>/store/adapters.ts` exports, so a service
 * names its store in one line (`createDbMixin("tokens", tokenStores)`).
 */
export interface StoreClasses<TStore> {
	nedb: new (db: Datastore<never>) => TStore;
	mongo: new (collection: MongoCollection<never>) => TStore;
	postgres: new (sql: Sql, schema: string) => TStore;
}

export interface DbSettings extends ServiceSettingSchema {
	/** Folder of the embedded store's files; defaults to DATA_DIR, then ./data. */
	dataDir?: string;
	/** PostgreSQL connection URL and schema; default DATABASE_URL and DATABASE_SCHEMA. */
	databaseUrl?: string;
	databaseSchema?: string;
}

export type StoreKind = "nedb" | "mongo" | "postgres";

export interface StoreOwner<TStore> {
	store: TStore;
	storeKind: StoreKind;
	/**
	 * True for exactly one caller per job and scheduled time across the cluster when the store is
	 * shared (PostgreSQL); always true on the embedded store, which one node owns.
	 */
	claimScheduledRun(job: string, scheduledAt: Date): Promise<boolean>;
	/** The shared PostgreSQL pool and schema, for state beside the store; null on the others. */
	sharedDatabase(): SharedDatabase | null;
	openSideStore<S>(factories: SideStoreFactories<S>): Promise<S>;
}

export interface StoreReady {
	ensureIndexes(): Promise<void>;
}

interface MongoDatabase {
	collection(name: string): unknown;
}

type AdapterWithHandles = { db?: unknown; collection?: unknown } | PostgresAdapter;

// moleculer-db's schema without its actions (see above).
const { actions: _crudActions, ...dbServiceWithoutActions } =
	DbService as unknown as ServiceSchema & {
		actions: unknown;
	};

/** The embedded store's files hold password hashes and token digests: this user's eyes only. */
export const DATA_FILE_MODES = Object.freeze({ fileMode: 0o600, dirMode: 0o700 });

/** moleculer-db's NeDB adapter on one file, created with DATA_FILE_MODES. */
export function embeddedAdapter(filename: string): InstanceType<typeof DbService.MemoryAdapter> {
	return new DbService.MemoryAdapter({ filename, modes: { ...DATA_FILE_MODES } });
}

/**
 * A second embedded collection of a service, as its own NeDB file in the service's data folder
 * (moleculer-db gives a service one collection): e.g. auth's refresh families and signing keys.
 */
export async function openEmbeddedFile<T>(
	service: { broker: Service["broker"] },
	filename: string
): Promise<import("@seald-io/nedb").default<T>> {
	const adapter = embeddedAdapter(filename) as unknown as {
		init(broker: unknown, service: unknown): void;
		connect(): Promise<void>;
		db: import("@seald-io/nedb").default<T>;
	};
	adapter.init(service.broker, service);
	await adapter.connect();
	await restrictDataFile(filename);
	return adapter.db;
}

/** Files and folders made before DATA_FILE_MODES (or by hand) get them too. */
export async function restrictDataFile(filename: string): Promise<void> {
	await chmod(dirname(filename), DATA_FILE_MODES.dirMode);
	await chmod(filename, DATA_FILE_MODES.fileMode);
}

type StoringService = Service<DbSettings> &
	StoreOwner<StoreReady> & { adapter: AdapterWithHandles; mongoDatabase(): MongoDatabase | null };

/** The adapter for the environment and settings, chosen once: PostgreSQL, MongoDB or NeDB. */
function adapterFor(collection: string, settings: DbSettings | undefined): unknown {
	const database = databaseTargetFromEnv(process.env, settings);
	const mongoUri = process.env.MONGO_URI;
	if (database) return new PostgresAdapter(database);
	if (mongoUri) return new MongoDbAdapter(mongoUri);
	return embeddedAdapter(
		join(settings?.dataDir ?? dataDirFromEnv(process.env), `${collection}.db`)
	);
}

/** The store for the adapter chosen in `merged`: the environment is not read again. */
async function storeFor<TStore>(
	adapter: AdapterWithHandles,
	classes: StoreClasses<TStore>
): Promise<{ kind: StoreKind; store: TStore }> {
	if (adapter instanceof PostgresAdapter) {
		return {
			kind: "postgres",
			store: new classes.postgres(adapter.sql, adapter.target.schema)
		};
	}
	if (adapter instanceof MongoDbAdapter) {
		const collection = (adapter as { collection?: unknown }).collection;
		return { kind: "mongo", store: new classes.mongo(collection as MongoCollection<never>) };
	}
	const db = adapter.db as Datastore<never>;
	const { filename } = db as unknown as { filename?: string };
	if (filename) await restrictDataFile(filename);
	return { kind: "nedb", store: new classes.nedb(rollBackFailedWrites(db)) };
}

const STORE_METHODS = {
	/** Whether this node does the run of `job` scheduled at `scheduledAt` (one node does). */
	claimScheduledRun(this: StoringService, job: string, scheduledAt: Date): Promise<boolean> {
		const name = `${this.name}.${job}`;
		const database = this.sharedDatabase();
		if (database) {
			const { sql, schema } = database;
			return claimScheduledRun(sql, schema, name, scheduledAt, this.broker.nodeID);
		}
		const mongo = this.mongoDatabase();
		if (mongo) {
			const runs = mongo.collection("scheduled_runs");
			return claimScheduledRunOnMongo(
				runs as MongoCollection<ScheduledRunDocument>,
				name,
				scheduledAt,
				this.broker.nodeID
			);
		}
		// The embedded store has one node per service: it always runs.
		return Promise.resolve(true);
	},
	sharedDatabase(this: StoringService): SharedDatabase | null {
		if (!(this.adapter instanceof PostgresAdapter)) return null;
		return { sql: this.adapter.sql, schema: this.adapter.target.schema };
	},
	/** The MongoDB database of the service's collection; null on the other stores. */
	mongoDatabase(this: StoringService): MongoDatabase | null {
		if (!(this.adapter instanceof MongoDbAdapter)) return null;
		return (this.adapter as unknown as { db: MongoDatabase }).db;
	},
	async openSideStore<S>(this: StoringService, factories: SideStoreFactories<S>): Promise<S> {
		const database = this.sharedDatabase();
		if (database) return factories.postgres(database.sql, database.schema);
		const mongo = this.mongoDatabase();
		if (mongo) {
			return factories.mongo(name => mongo.collection(name) as MongoCollection<never>);
		}
		const dir = this.settings.dataDir ?? dataDirFromEnv(process.env);
		return factories.nedb(<T>(name: string) =>
			openEmbeddedFile<T>(this, join(dir, `${name}.db`))
		);
	}
};

function storeErrorKind(mapped: { code: number; type: string }): string {
	if (mapped.type === INVALID_DATA) return "caller_data";
	return mapped.code === 503 ? "unavailable" : "internal";
}

/** A store failure reaches the caller as STORE_UNAVAILABLE; its cause goes to this node's log. */
const STORE_ERROR_HOOKS = {
	error: {
		"*"(this: StoringService, ctx: Context, err: unknown): never {
			const mapped = publicError(err);
			if (mapped === err) throw mapped;
			if (mapped.type === INVALID_DATA) {
				// The caller's data: the driver's message may quote the value, so only its code.
				const { code } = err as { code?: unknown };
				this.logger.warn(`${ctx.action?.name} refused data (SQLSTATE ${String(code)})`);
			} else {
				this.logger.error(`${ctx.action?.name} failed: ${describeCause(err)}`);
			}
			count(this.broker, "mtk.store.errors.total", {
				store: this.storeKind,
				kind: storeErrorKind(mapped)
			});
			throw mapped;
		}
	}
};

export default function createDbMixin<TStore extends StoreReady>(
	collection: string,
	classes: StoreClasses<TStore>
): Partial<ServiceSchema> {
	const mixin = {
		mixins: [dbServiceWithoutActions as Partial<ServiceSchema>],
		collection,
		/** A new adapter for every service instance: several brokers may live in one process (tests). */
		merged(schema: ServiceSchema<DbSettings>): void {
			schema.adapter = adapterFor(collection, schema.settings);
		},
		async afterConnected(this: StoringService): Promise<void> {
			const { kind, store } = await storeFor(this.adapter, classes);
			this.storeKind = kind;
			this.store = store;
			await this.store.ensureIndexes();
		},
		// Copies: moleculer merges mixins into these objects, and every service gets its own.
		methods: { ...STORE_METHODS },
		hooks: { error: { ...STORE_ERROR_HOOKS.error } }
	};
	return mixin as unknown as Partial<ServiceSchema>;
}
