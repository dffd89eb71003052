import { copyData } from "../../store/storable-data";
import { GroupCommit } from "../../store/group-commit";
import { isCallerDataError, isConstraintError } from "../../store/store-errors";
import { LookupBatcher } from "../../store/lookup-batcher";
import {
	fromTimestamp,
	MigratedStore,
	toTimestamp,
	type Migration
} from "../../store/postgres/migrations";
import type { TokenChanges, TokenMatch, TokenRecord, TokenStore } from "./token-store";

/** A row of `tokens`: the record's fields, with the times as timestamps in snake case. */
interface TokenRow extends Pick<
	TokenRecord,
	"type" | "owner" | "hash" | "name" | "scopes" | "data"
> {
	id: string;
	created_at: Date;
	expires_at: Date | null;
	last_used_at: Date | null;
}

const MIGRATIONS: Migration[] = [
	[
		`create table tokens (
			id text primary key,
			type text not null,
			owner text not null,
			hash text not null,
			name text,
			scopes text[] not null default '{}',
			data jsonb,
			created_at timestamptz not null,
			expires_at timestamptz,
			last_used_at timestamptz,
			constraint tokens_hash_key unique (hash)
		)`,
		`create index tokens_owner_idx on tokens (owner, type, created_at)`,
		`create index tokens_expires_idx on tokens (expires_at) where expires_at is not null`
	]
];

const COLUMNS = "id, type, owner, hash, name, scopes, data, created_at, expires_at, last_used_at";

/**
 * PostgreSQL. Every change that must have one winner is a single statement: consume is
 * `DELETE … RETURNING` (of concurrent consumes across any number of nodes, one deletes the row);
 * cleanup deletes `FOR UPDATE SKIP LOCKED` batches, so two nodes cleaning at once never report one
 * token twice. Lookups are batched (lib/store/lookup-batcher) and inserts group-committed as one
 * multi-row INSERT.
 */
export class PostgresTokenStore extends MigratedStore implements TokenStore {
	readonly component = "tokens";
	readonly migrations = MIGRATIONS;
	private readonly lookups = new LookupBatcher<TokenRow>(
		hashes => this.sql<TokenRow[]>`
			select ${this.sql.unsafe(COLUMNS)} from tokens where hash = any(${hashes}::text[])`,
		row => [row.hash]
	);
	// A row PostgreSQL refuses (its data: class 22; a duplicate hash, which 256-bit HMACs of random
	// tokens never are: class 23) fails the multi-row INSERT: its rows are then written one by one.
	private readonly inserts = new GroupCommit<TokenRecord>(
		records => this.insertMany(records),
		500,
		err => isCallerDataError(err) || isConstraintError(err)
	);

	insert(record: TokenRecord): Promise<void> {
		return this.inserts.add(record);
	}

	/** One INSERT for the whole batch (called by the group commit). */
	async insertMany(records: TokenRecord[]): Promise<void> {
		const rows = records.map(r => ({
			...toRow(r),
			data: r.data === null ? null : this.sql.json(r.data as never)
		}));
		await this.sql`insert into tokens ${this.sql(rows as never)}`;
	}

	async findByHashes(hashes: string[]): Promise<TokenRecord | null> {
		const row = await this.lookups.get(hashes);
		return row ? fromRow(row) : null;
	}

	async touch(ids: string[], now: number, staleBefore: number): Promise<void> {
		await this.sql`
			update tokens set last_used_at = ${new Date(now)}
			where id = any(${ids}::text[])
				and (last_used_at is null or last_used_at < ${new Date(staleBefore)})`;
	}

	async consume(match: TokenMatch, now: number): Promise<TokenRecord | null> {
		const rows = await this.sql<TokenRow[]>`
			delete from tokens
			where hash = any(${match.hashes}::text[]) and type = ${match.type}
				and ${match.owner === undefined ? this.sql`true` : this.sql`owner = ${match.owner}`}
				and (expires_at is null or expires_at > ${new Date(now)})
			returning ${this.sql.unsafe(COLUMNS)}`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async remove(match: TokenMatch): Promise<TokenRecord | null> {
		const rows = await this.sql<TokenRow[]>`
			delete from tokens
			where hash = any(${match.hashes}::text[]) and type = ${match.type}
				and ${match.owner === undefined ? this.sql`true` : this.sql`owner = ${match.owner}`}
			returning ${this.sql.unsafe(COLUMNS)}`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async removeById(id: string, owner: string): Promise<TokenRecord | null> {
		const rows = await this.sql<TokenRow[]>`
			delete from tokens where id = ${id} and owner = ${owner}
			returning ${this.sql.unsafe(COLUMNS)}`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async update(id: string, owner: string, changes: TokenChanges): Promise<TokenRecord | null> {
		const set: Record<string, unknown> = {};
		if (changes.data !== undefined) {
			set.data = changes.data === null ? null : this.sql.json(changes.data as never);
		}
		if (changes.expiresAt !== undefined) set.expires_at = new Date(changes.expiresAt);
		if (Object.keys(set).length === 0) return null;
		const rows = await this.sql<TokenRow[]>`
			update tokens set ${this.sql(set as never)} where id = ${id} and owner = ${owner}
			returning ${this.sql.unsafe(COLUMNS)}`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async listByOwner(owner: string, type?: string): Promise<TokenRecord[]> {
		const rows = await this.sql<TokenRow[]>`
			select ${this.sql.unsafe(COLUMNS)} from tokens
			where owner = ${owner} and ${type === undefined ? this.sql`true` : this.sql`type = ${type}`}
			order by created_at, id`;
		return rows.map(fromRow);
	}

	async removeByOwner(owner: string, type?: string): Promise<TokenRecord[]> {
		const rows = await this.sql<TokenRow[]>`
			delete from tokens
			where owner = ${owner} and ${type === undefined ? this.sql`true` : this.sql`type = ${type}`}
			returning ${this.sql.unsafe(COLUMNS)}`;
		return rows.map(fromRow).sort((a, b) => a.createdAt - b.createdAt);
	}

	async removeExpired(now: number, limit: number): Promise<TokenRecord[]> {
		const rows = await this.sql<TokenRow[]>`
			delete from tokens where id in (
				select id from tokens where expires_at <= ${new Date(now)}
				order by expires_at limit ${limit} for update skip locked
			)
			returning ${this.sql.unsafe(COLUMNS)}`;
		return rows.map(fromRow);
	}

	async countByType(now: number): Promise<Record<string, { live: number; expired: number }>> {
		const rows = await this.sql<{ type: string; live: number; expired: number }[]>`
			select type,
				count(*) filter (where expires_at is null or expires_at > ${new Date(now)})::int as live,
				count(*) filter (where expires_at <= ${new Date(now)})::int as expired
			from tokens group by type`;
		return Object.fromEntries(rows.map(r => [r.type, { live: r.live, expired: r.expired }]));
	}
}

function toRow(record: TokenRecord): TokenRow {
	return {
		id: record._id,
		type: record.type,
		owner: record.owner,
		hash: record.hash,
		name: record.name,
		scopes: record.scopes,
		data: record.data,
		created_at: new Date(record.createdAt),
		expires_at: toTimestamp(record.expiresAt),
		last_used_at: toTimestamp(record.lastUsedAt)
	};
}

/** A record of its own for each caller: one batched row may answer several lookups. */
function fromRow(row: TokenRow): TokenRecord {
	return {
		_id: row.id,
		type: row.type,
		owner: row.owner,
		hash: row.hash,
		name: row.name,
		scopes: [...row.scopes],
		data: row.data === null ? null : copyData(row.data),
		createdAt: row.created_at.getTime(),
		expiresAt: fromTimestamp(row.expires_at),
		lastUsedAt: fromTimestamp(row.last_used_at)
	};
}
