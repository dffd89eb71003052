import {
	fromTimestamp,
	MigratedStore,
	toTimestamp,
	uniqueViolation,
	type Migration
} from "../../store/postgres/migrations";
import {
	configId,
	slotKeyOf,
	type PoolConfigRecord,
	type PoolCounts,
	type PoolStore,
	type PoolTokenRecord,
	type Lease,
	type LeaseRenewal
} from "./pool-store";

interface ConfigRow {
	pool: string;
	size: number;
	lease_time: number;
	token_ttl: number | null;
	updated_at: Date;
}

interface PoolTokenRow {
	id: string;
	pool: string;
	slot: number;
	hash: string;
	sealed: string;
	created_at: Date;
	expires_at: Date | null;
	holder: string | null;
	lease_expires_at: Date | null;
	assigned_at: Date | null;
}

const SLOT_CONSTRAINT = "pool_tokens_slot_key";

const MIGRATIONS: Migration[] = [
	[
		`create table pool_configs (
			pool text primary key,
			size integer not null,
			lease_time integer not null,
			token_ttl integer,
			updated_at timestamptz not null
		)`,
		`create table pool_tokens (
			id text primary key,
			pool text not null,
			slot integer not null,
			hash text not null unique,
			sealed text not null,
			created_at timestamptz not null,
			expires_at timestamptz,
			holder text,
			lease_expires_at timestamptz,
			assigned_at timestamptz,
			constraint ${SLOT_CONSTRAINT} unique (pool, slot)
		)`,
		`create index pool_tokens_assignment_idx on pool_tokens (pool, assigned_at nulls first)`
	]
];

/**
 * PostgreSQL. An assignment is one UPDATE of the row picked by `FOR UPDATE SKIP LOCKED`: concurrent
 * assignments on any number of nodes each lock a different free token, or find none. The unique
 * (pool, slot) constraint caps a pool at its size however many nodes generate at once.
 */
export class PostgresPoolStore extends MigratedStore implements PoolStore {
	readonly component = "pools";
	readonly migrations = MIGRATIONS;

	async getConfig(pool: string): Promise<PoolConfigRecord | null> {
		const rows = await this.sql<ConfigRow[]>`select * from pool_configs where pool = ${pool}`;
		return rows.length > 0 ? configFromRow(rows[0]) : null;
	}

	async saveConfig(config: PoolConfigRecord): Promise<PoolConfigRecord> {
		const row = {
			pool: config.pool,
			size: config.size,
			lease_time: config.leaseTime,
			token_ttl: config.tokenTtl,
			updated_at: new Date(config.updatedAt)
		};
		await this.sql`
			insert into pool_configs ${this.sql(row as never)}
			on conflict (pool) do update set size = excluded.size, lease_time = excluded.lease_time,
				token_ttl = excluded.token_ttl, updated_at = excluded.updated_at`;
		return config;
	}

	async usedSlots(pool: string): Promise<number[]> {
		const rows = await this.sql<{ slot: number }[]>`
			select slot from pool_tokens where pool = ${pool}`;
		return rows.map(r => r.slot);
	}

	async insertToken(record: PoolTokenRecord): Promise<boolean> {
		try {
			await this.sql`insert into pool_tokens ${this.sql(tokenToRow(record) as never)}`;
			return true;
		} catch (err) {
			if (uniqueViolation(err) === SLOT_CONSTRAINT) return false;
			throw err;
		}
	}

	async findToken(pool: string, hashes: string[]): Promise<PoolTokenRecord | null> {
		return this.one(this.sql<PoolTokenRow[]>`
			select * from pool_tokens where pool = ${pool} and hash = any(${hashes}::text[]) limit 1`);
	}

	assign(pool: string, { holder, now, leaseExpiresAt }: Lease): Promise<PoolTokenRecord | null> {
		const at = new Date(now);
		return this.one(this.sql<PoolTokenRow[]>`
			update pool_tokens
			set holder = ${holder}, lease_expires_at = ${new Date(leaseExpiresAt)}, assigned_at = ${at}
			where id = (
				select id from pool_tokens
				where pool = ${pool}
					and (expires_at is null or expires_at > ${at})
					and (holder is null or lease_expires_at is null or lease_expires_at <= ${at})
				order by assigned_at nulls first, id
				limit 1
				for update skip locked
			)
			returning *`);
	}

	keepAlive(
		id: string,
		{ holder, now, leaseExpiresAt }: LeaseRenewal
	): Promise<PoolTokenRecord | null> {
		const at = new Date(now);
		return this.one(this.sql<PoolTokenRow[]>`
			update pool_tokens set lease_expires_at = ${new Date(leaseExpiresAt)}
			where id = ${id}
				and ${holder === undefined ? this.sql`holder is not null` : this.sql`holder = ${holder}`}
				and lease_expires_at > ${at}
				and (expires_at is null or expires_at > ${at})
			returning *`);
	}

	async release(id: string, now: number, holder?: string): Promise<boolean> {
		const rows = await this.sql`
			update pool_tokens set holder = null, lease_expires_at = null
			where id = ${id}
				and ${holder === undefined ? this.sql`holder is not null` : this.sql`holder = ${holder}`}
				and lease_expires_at > ${new Date(now)}
			returning id`;
		return rows.length === 1;
	}

	async removeToken(id: string): Promise<boolean> {
		const rows = await this.sql`delete from pool_tokens where id = ${id} returning id`;
		return rows.length === 1;
	}

	async removeExpired(pool: string, now: number): Promise<number> {
		const rows = await this.sql`
			delete from pool_tokens where pool = ${pool} and expires_at <= ${new Date(now)}
			returning id`;
		return rows.length;
	}

	async counts(pool: string, now: number): Promise<PoolCounts> {
		const at = new Date(now);
		const [row] = await this.sql<PoolCounts[]>`
			select count(*)::int as tokens,
				count(*) filter (where holder is not null and lease_expires_at > ${at})::int as assigned
			from pool_tokens
			where pool = ${pool} and (expires_at is null or expires_at > ${at})`;
		return { tokens: row.tokens, assigned: row.assigned, available: row.tokens - row.assigned };
	}

	private async one(query: Promise<PoolTokenRow[]>): Promise<PoolTokenRecord | null> {
		const rows = await query;
		return rows.length > 0 ? tokenFromRow(rows[0]) : null;
	}
}

function configFromRow(row: ConfigRow): PoolConfigRecord {
	return {
		_id: configId(row.pool),
		kind: "config",
		pool: row.pool,
		size: row.size,
		leaseTime: row.lease_time,
		tokenTtl: row.token_ttl,
		updatedAt: row.updated_at.getTime()
	};
}

function tokenToRow(r: PoolTokenRecord): PoolTokenRow {
	return {
		id: r._id,
		pool: r.pool,
		slot: r.slot,
		hash: r.hash,
		sealed: r.sealed,
		created_at: new Date(r.createdAt),
		expires_at: toTimestamp(r.expiresAt),
		holder: r.holder,
		lease_expires_at: toTimestamp(r.leaseExpiresAt),
		assigned_at: toTimestamp(r.assignedAt)
	};
}

function tokenFromRow(row: PoolTokenRow): PoolTokenRecord {
	return {
		_id: row.id,
		kind: "token",
		pool: row.pool,
		slot: row.slot,
		slotKey: slotKeyOf(row.pool, row.slot),
		hash: row.hash,
		sealed: row.sealed,
		createdAt: row.created_at.getTime(),
		expiresAt: fromTimestamp(row.expires_at),
		holder: row.holder,
		leaseExpiresAt: fromTimestamp(row.lease_expires_at),
		assignedAt: fromTimestamp(row.assigned_at)
	};
}
