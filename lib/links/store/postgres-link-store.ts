import {
	fromTimestamp,
	MigratedStore,
	toTimestamp,
	type Migration
} from "../../store/postgres/migrations";
import type { LinkRecord, LinkStore } from "./link-store";

interface LinkRow {
	id: string;
	hash: string;
	owner: string;
	action: string;
	params: string;
	multi_use: boolean;
	lock_timeout: number;
	created_at: Date;
	valid_until: Date;
	last_access: Date | null;
	locked_until: Date | null;
	uses: number;
}

const MIGRATIONS: Migration[] = [
	[
		// `params` is the caller's JSON text byte for byte (jsonb would reorder keys and spaces).
		`create table links (
			id text primary key,
			hash text not null unique,
			owner text not null,
			action text not null,
			params text not null,
			multi_use boolean not null,
			lock_timeout integer not null,
			created_at timestamptz not null,
			valid_until timestamptz not null,
			last_access timestamptz,
			locked_until timestamptz,
			uses integer not null default 0
		)`,
		`create index links_owner_idx on links (owner)`,
		`create index links_valid_until_idx on links (valid_until)`
	]
];

/** PostgreSQL: a redeem is one conditional DELETE (one-time) or UPDATE (multi-use lock). */
export class PostgresLinkStore extends MigratedStore implements LinkStore {
	readonly component = "links";
	readonly migrations = MIGRATIONS;

	async insert(record: LinkRecord): Promise<void> {
		await this.sql`insert into links ${this.sql(toRow(record) as never)}`;
	}

	async findByHashes(hashes: string[]): Promise<LinkRecord | null> {
		const rows = await this.sql<LinkRow[]>`
			select * from links where hash = any(${hashes}::text[]) limit 1`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async spend(id: string, now: number): Promise<boolean> {
		const at = new Date(now);
		const rows = await this.sql`
			delete from links
			where id = ${id} and valid_until > ${at} and (locked_until is null or locked_until <= ${at})
			returning id`;
		return rows.length === 1;
	}

	async claim(id: string, now: number, lockedUntil: number): Promise<LinkRecord | null> {
		const at = new Date(now);
		const rows = await this.sql<LinkRow[]>`
			update links set last_access = ${at}, locked_until = ${new Date(lockedUntil)}, uses = uses + 1
			where id = ${id} and valid_until > ${at} and (locked_until is null or locked_until <= ${at})
			returning *`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async removeByHashes(hashes: string[]): Promise<LinkRecord | null> {
		const rows = await this.sql<LinkRow[]>`
			delete from links where hash = any(${hashes}::text[]) returning *`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async removeExpired(now: number, limit: number): Promise<number> {
		const rows = await this.sql`
			delete from links where id in (
				select id from links where valid_until <= ${new Date(now)}
				limit ${limit} for update skip locked
			) returning id`;
		return rows.length;
	}

	async removeByOwner(owner: string): Promise<number> {
		const rows = await this.sql`delete from links where owner = ${owner} returning id`;
		return rows.length;
	}
}

function toRow(r: LinkRecord): LinkRow {
	return {
		id: r._id,
		hash: r.hash,
		owner: r.owner,
		action: r.action,
		params: r.params,
		multi_use: r.multiUse,
		lock_timeout: r.lockTimeout,
		created_at: new Date(r.createdAt),
		valid_until: new Date(r.validUntil),
		last_access: toTimestamp(r.lastAccess),
		locked_until: toTimestamp(r.lockedUntil),
		uses: r.uses
	};
}

function fromRow(row: LinkRow): LinkRecord {
	return {
		_id: row.id,
		hash: row.hash,
		owner: row.owner,
		action: row.action,
		params: row.params,
		multiUse: row.multi_use,
		lockTimeout: row.lock_timeout,
		createdAt: row.created_at.getTime(),
		validUntil: row.valid_until.getTime(),
		lastAccess: fromTimestamp(row.last_access),
		lockedUntil: fromTimestamp(row.locked_until),
		uses: row.uses
	};
}
