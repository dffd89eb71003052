/** The pool store's implementation for each adapter; the db mixin picks one at connect. */
export { NedbPoolStore as nedb } from "./nedb-pool-store";
export { MongoPoolStore as mongo } from "./mongo-pool-store";
export { PostgresPoolStore as postgres } from "./postgres-pool-store";
