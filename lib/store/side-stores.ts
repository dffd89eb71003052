import type Datastore from "@seald-io/nedb";
import type { MongoCollection } from "./mongo/collection";
import type { Sql } from "./postgres/database";

/**
 * A store beside the service's own collection, through the same connection: a table in the same
 * PostgreSQL schema, collections (by name) in the same MongoDB database, or NeDB files (by name) in
 * the same data folder, since moleculer-db gives a service one collection.
 */
export interface SideStoreFactories<S> {
	postgres: (sql: Sql, schema: string) => S;
	mongo: (collection: (name: string) => MongoCollection<never>) => S;
	nedb: (file: <T = never>(name: string) => Promise<Datastore<T>>) => Promise<S>;
}
