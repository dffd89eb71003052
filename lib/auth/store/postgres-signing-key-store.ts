import { MigratedStore, type Migration } from "../../store/postgres/migrations";
import type { SigningKeyRecord } from "../signing-keys";
import type { SigningKeyStore } from "./signing-key-store";

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
	readonly component = "signing_keys";
	readonly migrations = MIGRATIONS;

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
