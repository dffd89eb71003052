/** The token store's implementation for each adapter; the db mixin picks one at connect. */
export { NedbTokenStore as nedb } from "./nedb-token-store";
export { MongoTokenStore as mongo } from "./mongo-token-store";
export { PostgresTokenStore as postgres } from "./postgres-token-store";
