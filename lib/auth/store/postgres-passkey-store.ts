import {
	fromTimestamp,
	MigratedStore,
	toTimestamp,
	type Migration
} from "../../store/postgres/migrations";
import type { PasskeyDeviceType, PasskeyRecord, PasskeyStore } from "./passkey-store";

interface PasskeyRow {
	id: string;
	user_id: string;
	name: string;
	public_key: string;
	counter: string;
	transports: string[];
	device_type: PasskeyDeviceType;
	backed_up: boolean;
	created_at: Date;
	last_used_at: Date | null;
	cloned_at: Date | null;
}

const MIGRATIONS: Migration[] = [
	[
		`create table passkeys (
			id text primary key,
			user_id text not null,
			name text not null,
			public_key text not null,
			counter bigint not null,
			transports text[] not null,
			device_type text not null,
			backed_up boolean not null,
			created_at timestamptz not null,
			last_used_at timestamptz,
			cloned_at timestamptz
		)`,
		`create index passkeys_user_idx on passkeys (user_id, created_at)`
	]
];

function toRecord(row: PasskeyRow): PasskeyRecord {
	return {
		_id: row.id,
		userId: row.user_id,
		name: row.name,
		publicKey: row.public_key,
		counter: Number(row.counter),
		transports: row.transports,
		deviceType: row.device_type,
		backedUp: row.backed_up,
		createdAt: row.created_at.getTime(),
		lastUsedAt: fromTimestamp(row.last_used_at),
		clonedAt: fromTimestamp(row.cloned_at)
	};
}

/** PostgreSQL: each write one statement; the counter's compare-and-set in its WHERE. */
export class PostgresPasskeyStore extends MigratedStore implements PasskeyStore {
	readonly component = "passkeys";
	readonly migrations = MIGRATIONS;

	async insert(r: PasskeyRecord): Promise<void> {
		await this.sql`
			insert into passkeys (id, user_id, name, public_key, counter, transports, device_type,
				backed_up, created_at, last_used_at, cloned_at)
			values (${r._id}, ${r.userId}, ${r.name}, ${r.publicKey}, ${r.counter},
				${r.transports}, ${r.deviceType}, ${r.backedUp}, ${new Date(r.createdAt)},
				${toTimestamp(r.lastUsedAt)}, ${toTimestamp(r.clonedAt)})`;
	}

	async findById(id: string): Promise<PasskeyRecord | null> {
		const [row] = await this.sql<PasskeyRow[]>`select * from passkeys where id = ${id}`;
		return row ? toRecord(row) : null;
	}

	async listOfUser(userId: string): Promise<PasskeyRecord[]> {
		const rows = await this.sql<PasskeyRow[]>`
			select * from passkeys where user_id = ${userId} order by created_at, id`;
		return rows.map(toRecord);
	}

	async rename(id: string, userId: string, name: string): Promise<PasskeyRecord | null> {
		const [row] = await this.sql<PasskeyRow[]>`
			update passkeys set name = ${name} where id = ${id} and user_id = ${userId}
			returning *`;
		return row ? toRecord(row) : null;
	}

	async recordUse(id: string, expected: number, counter: number, now: number): Promise<boolean> {
		const res = await this.sql`
			update passkeys set counter = ${counter}, last_used_at = ${new Date(now)}
			where id = ${id} and counter = ${expected} and cloned_at is null`;
		return res.count === 1;
	}

	async markCloned(id: string, now: number): Promise<void> {
		await this.sql`
			update passkeys set cloned_at = ${new Date(now)} where id = ${id} and cloned_at is null`;
	}

	async remove(id: string, userId: string): Promise<boolean> {
		const res = await this.sql`delete from passkeys where id = ${id} and user_id = ${userId}`;
		return res.count === 1;
	}

	async removeAllOfUser(userId: string): Promise<number> {
		return (await this.sql`delete from passkeys where user_id = ${userId}`).count;
	}
}
