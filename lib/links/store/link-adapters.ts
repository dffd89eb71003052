/** The link store's implementation for each adapter; the db mixin picks one at connect. */
export { NedbLinkStore as nedb } from "./nedb-link-store";
export { MongoLinkStore as mongo } from "./mongo-link-store";
export { PostgresLinkStore as postgres } from "./postgres-link-store";
