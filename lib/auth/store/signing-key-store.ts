/**
 * Where the access tokens' signing keys live (lib/auth/signing-keys): beside the users, shared by
 * every auth node. Records are only ever inserted and deleted; their state follows from the clock.
 * One implementation per adapter.
 */
import type Datastore from "@seald-io/nedb";
import type { MongoCollection } from "../../store/mongo/collection";
import { MigratedStore, type Migration } from "../../store/postgres/migrations";
import type { SigningKeyRecord } from "../signing-keys";

export interface SigningKeyStore {
	ensureIndexes(): Promise<void>;
	insert(record: SigningKeyRecord): Promise<void>;
	list(): Promise<SigningKeyRecord[]>;
	/** Deletes these keys; returns how many there were. */
	remove(ids: string[]): Promise<number>;
}

export class NedbSigningKeyStore implements SigningKeyStore {
	constructor(private readonly db: Datastore<SigningKeyRecord>) {}

	async ensureIndexes(): Promise<void> {}

	async insert(record: SigningKeyRecord): Promise<void> {
		await this.db.insertAsync(record);
	}

	async list(): Promise<SigningKeyRecord[]> {
		return (await this.db.findAsync({})) as SigningKeyRecord[];
	}

	remove(ids: string[]): Promise<number> {
		return this.db.removeAsync({ _id: { $in: ids } }, { multi: true });
	}
}

export class MongoSigningKeyStore implements SigningKeyStore {
	constructor(private readonly collection: MongoCollection<SigningKeyRecord>) {}

	async ensureIndexes(): Promise<void> {}

	async insert(record: SigningKeyRecord): Promise<void> {
		await this.collection.insertOne(record);
	}

	list(): Promise<SigningKeyRecord[]> {
		return this.collection.find({}).toArray();
	}

	async remove(ids: string[]): Promise<number> {
		return (await this.collection.deleteMany({ _id: { $in: ids } })).deletedCount ?? 0;
	}
}

interface KeyRow {
	id: string;
	alg: SigningKeyRecord["alg"];
	public_jwk: SigningKeyRecord["publicJwk"];
	sealed_private_key: string;
	created_at: Date;
	activates_at: Date;
}

const MIGRATIONS: Migration[] = [
	[
		`create table signing_keys (
			id text primary key,
			alg text not null,
			public_jwk jsonb not null,
			sealed_private_key text not null,
			created_at timestamptz not null,
			activates_at timestamptz not null
		)`
	]
];

export class PostgresSigningKeyStore extends MigratedStore implements SigningKeyStore {
	protected readonly component = "signing_keys";
	protected readonly migrations = MIGRATIONS;

	async insert(r: SigningKeyRecord): Promise<void> {
		await this.sql`
			insert into signing_keys (id, alg, public_jwk, sealed_private_key, created_at, activates_at)
			values (${r._id}, ${r.alg}, ${this.sql.json(r.publicJwk as never)}, ${r.sealedPrivateKey},
				${new Date(r.createdAt)}, ${new Date(r.activatesAt)})`;
	}

	async list(): Promise<SigningKeyRecord[]> {
		const rows = await this.sql<KeyRow[]>`select * from signing_keys`;
		return rows.map(row => ({
			_id: row.id,
			alg: row.alg,
			publicJwk: row.public_jwk,
			sealedPrivateKey: row.sealed_private_key,
			createdAt: row.created_at.getTime(),
			activatesAt: row.activates_at.getTime()
		}));
	}

	async remove(ids: string[]): Promise<number> {
		const rows = await this
			.sql`delete from signing_keys where id = any(${ids}::text[]) returning id`;
		return rows.length;
	}
}
