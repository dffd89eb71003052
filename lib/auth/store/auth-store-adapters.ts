/**
 * Every store of `auth`, for each adapter, chosen in this one place. The user store is the
 * service's own collection (createDbMixin picks the class at connect); the others live beside it,
 * through the same connection (the db mixin's openSideStore): a table in the same PostgreSQL
 * schema, a collection in the same MongoDB database, or a NeDB file in the same data folder.
 */
import type { SideStoreFactories } from "../../store/side-stores";
import { rollBackFailedWrites } from "../../store/nedb/write-rollback";
import type { MongoCollection } from "../../store/mongo/collection";
import type { SigningKeyRecord } from "../signing-keys";
import type { KeyUsageStore, SharedKeyUsageStore } from "../api-key-usage/key-usage-store";
import { EmbeddedKeyUsageStore } from "../api-key-usage/embedded-key-usage-store";
import { MongoKeyUsageStore } from "../api-key-usage/mongo-key-usage-store";
import { PostgresKeyUsageStore } from "../api-key-usage/postgres-key-usage-store";
import type { RefreshFamilyStore } from "./refresh-family-store";
import { NedbRefreshFamilyStore } from "./nedb-refresh-family-store";
import { MongoRefreshFamilyStore, type FamilyCollection } from "./mongo-refresh-family-store";
import { PostgresRefreshFamilyStore } from "./postgres-refresh-family-store";
import type { PasskeyRecord, PasskeyStore } from "./passkey-store";
import { NedbPasskeyStore } from "./nedb-passkey-store";
import { MongoPasskeyStore } from "./mongo-passkey-store";
import { PostgresPasskeyStore } from "./postgres-passkey-store";
import type { SigningKeyStore } from "./signing-key-store";
import { NedbSigningKeyStore } from "./nedb-signing-key-store";
import { MongoSigningKeyStore } from "./mongo-signing-key-store";
import { PostgresSigningKeyStore } from "./postgres-signing-key-store";

/** The user store's implementation for each adapter; the db mixin picks one at connect. */
export { NedbUserStore as nedb } from "./nedb-user-store";
export { MongoUserStore as mongo } from "./mongo-user-store";
export { PostgresUserStore as postgres } from "./postgres-user-store";

/** Refresh-token families (lib/auth/store/refresh-family-store). */
export const familyStores: SideStoreFactories<RefreshFamilyStore> = {
	postgres: (sql, schema) => new PostgresRefreshFamilyStore(sql, schema),
	mongo: collection =>
		new MongoRefreshFamilyStore(collection("refresh_families") as unknown as FamilyCollection),
	nedb: async file =>
		new NedbRefreshFamilyStore(rollBackFailedWrites(await file("refresh_families")))
};

/** Passkeys (lib/auth/store/passkey-store). */
export const passkeyStores: SideStoreFactories<PasskeyStore> = {
	postgres: (sql, schema) => new PostgresPasskeyStore(sql, schema),
	mongo: collection =>
		new MongoPasskeyStore(collection("passkeys") as MongoCollection<PasskeyRecord>),
	nedb: async file => new NedbPasskeyStore(await file<PasskeyRecord>("passkeys"))
};

/** The access tokens' signing keys (lib/auth/store/signing-key-store). */
export const signingKeyStores: SideStoreFactories<SigningKeyStore> = {
	postgres: (sql, schema) => new PostgresSigningKeyStore(sql, schema),
	mongo: collection =>
		new MongoSigningKeyStore(collection("signing_keys") as MongoCollection<SigningKeyRecord>),
	nedb: async file => new NedbSigningKeyStore(await file<SigningKeyRecord>("signing_keys"))
};

/**
 * API keys' credits and rate-limit windows (lib/auth/api-key-usage). Shared stores are wrapped by
 * `leasing`, which takes blocks of credits and windows and spends them in memory.
 */
export function keyUsageStores(
	leasing: (store: SharedKeyUsageStore) => KeyUsageStore
): SideStoreFactories<KeyUsageStore> {
	return {
		postgres: (sql, schema) => leasing(new PostgresKeyUsageStore(sql, schema)),
		mongo: collection =>
			leasing(
				new MongoKeyUsageStore(collection("api_key_credits"), collection("api_key_windows"))
			),
		nedb: async file => new EmbeddedKeyUsageStore(await file("api_key_credits"))
	};
}
