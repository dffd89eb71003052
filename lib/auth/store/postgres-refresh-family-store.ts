import type { Sql } from "../../store/postgres/database";
import {
	fromTimestamp,
	migrate,
	toTimestamp,
	type Migration
} from "../../store/postgres/migrations";
import type {
	NextRefreshToken,
	RefreshFamilyRecord,
	RefreshFamilyStore
} from "./refresh-family-store";

interface FamilyRow {
	id: string;
	user_id: string;
	current: string | null;
	fingerprints: string[];
	generation: number;
	created_at: Date;
	expires_at: Date;
	revoked_at: Date | null;
	revoked_reason: string | null;
}

const MIGRATIONS: Migration[] = [
	[
		`create table refresh_families (
			id text primary key,
			user_id text not null,
			current text,
			fingerprints text[] not null,
			generation integer not null,
			created_at timestamptz not null,
			expires_at timestamptz not null,
			revoked_at timestamptz,
			revoked_reason text
		)`,
		`create index refresh_families_fingerprints_idx on refresh_families using gin (fingerprints)`,
		`create index refresh_families_user_idx on refresh_families (user_id)`,
		`create index refresh_families_expires_idx on refresh_families (expires_at)`
	]
];

/** PostgreSQL: each rotation is one conditional UPDATE (compare-and-set on `current`). */
export class PostgresRefreshFamilyStore implements RefreshFamilyStore {
	constructor(
		private readonly sql: Sql,
		private readonly schema: string
	) {}

	async ensureIndexes(): Promise<void> {
		await migrate(this.sql, this.schema, "refresh_families", MIGRATIONS);
	}

	async insert(record: RefreshFamilyRecord): Promise<void> {
		await this.sql`insert into refresh_families ${this.sql(toRow(record) as never)}`;
	}

	async findByFingerprint(fingerprint: string): Promise<RefreshFamilyRecord | null> {
		const rows = await this.sql<FamilyRow[]>`
			select * from refresh_families where fingerprints @> array[${fingerprint}]::text[]`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async rotate(
		id: string,
		expected: string,
		next: NextRefreshToken,
		history: number
	): Promise<boolean> {
		// The appended array keeps its last `history` entries.
		const rows = await this.sql`
			update refresh_families set
				current = ${next.fingerprint},
				expires_at = ${new Date(next.expiresAt)},
				generation = generation + 1,
				fingerprints = (fingerprints || ${next.fingerprint}::text)[
					greatest(1, cardinality(fingerprints) + 2 - ${history}::int):]
			where id = ${id} and current = ${expected} and revoked_at is null
			returning id`;
		return rows.length === 1;
	}

	async revoke(id: string, reason: string, now: number): Promise<RefreshFamilyRecord | null> {
		const rows = await this.sql<FamilyRow[]>`
			update refresh_families
			set current = null, revoked_at = ${new Date(now)}, revoked_reason = ${reason}
			where id = ${id} and revoked_at is null returning *`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async revokeAllOfUser(userId: string, reason: string, now: number): Promise<number> {
		const rows = await this.sql`
			update refresh_families
			set current = null, revoked_at = ${new Date(now)}, revoked_reason = ${reason}
			where user_id = ${userId} and revoked_at is null returning id`;
		return rows.length;
	}

	async removeExpired(now: number): Promise<number> {
		const rows = await this.sql`
			delete from refresh_families where expires_at <= ${new Date(now)} returning id`;
		return rows.length;
	}
}

function toRow(r: RefreshFamilyRecord): FamilyRow {
	return {
		id: r._id,
		user_id: r.userId,
		current: r.current,
		fingerprints: r.fingerprints,
		generation: r.generation,
		created_at: new Date(r.createdAt),
		expires_at: new Date(r.expiresAt),
		revoked_at: toTimestamp(r.revokedAt),
		revoked_reason: r.revokedReason
	};
}

function fromRow(row: FamilyRow): RefreshFamilyRecord {
	return {
		_id: row.id,
		userId: row.user_id,
		current: row.current,
		fingerprints: [...row.fingerprints],
		generation: row.generation,
		createdAt: row.created_at.getTime(),
		expiresAt: row.expires_at.getTime(),
		revokedAt: fromTimestamp(row.revoked_at),
		revokedReason: row.revoked_reason
	};
}
