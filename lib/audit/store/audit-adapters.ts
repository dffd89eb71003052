/** The audit store's implementation for each adapter; the db mixin picks one at connect. */
export { NedbAuditStore as nedb } from "./nedb-audit-store";
export { PostgresAuditStore as postgres } from "./postgres-audit-store";
export { MongoAuditStore as mongo } from "./mongo-audit-store";
