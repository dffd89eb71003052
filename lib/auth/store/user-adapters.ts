/** The user store's implementation for each adapter; the db mixin picks one at connect. */
export { NedbUserStore as nedb } from "./nedb-user-store";
export { MongoUserStore as mongo } from "./mongo-user-store";
export { PostgresUserStore as postgres } from "./postgres-user-store";
