import {
	fromTimestamp,
	MigratedStore,
	toTimestamp,
	type Migration
} from "../../store/postgres/migrations";
import type { Rotation, RefreshFamilyRecord, RefreshFamilyStore } from "./refresh-family-store";

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
	previous: string | null;
	rotated_at: Date | null;
	successor: string | null;
	user_agent: string | null;
	client_address: string | null;
	scopes: string[] | null;
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
	],
	[
		// The reuse interval (see RefreshFamilyRecord).
		`alter table refresh_families
			add column previous text,
			add column rotated_at timestamptz,
			add column successor text`
	],
	[
		// The sessions list (see RefreshFamilyRecord).
		`alter table refresh_families add column user_agent text, add column client_address text`,
		`create index refresh_families_live_idx on refresh_families (user_id, created_at)
			where revoked_at is null`
	],
	[
		// Sessions of the service API's subjects (see RefreshFamilyRecord).
		`alter table refresh_families add column scopes text[]`
	]
];

/**
 * PostgreSQL: each rotation is one conditional UPDATE (compare-and-set on `current`). Lookups by id
 * (every access token names its session) are batched like token lookups.
 */
export class PostgresRefreshFamilyStore extends MigratedStore implements RefreshFamilyStore {
	readonly component = "refresh_families";
	readonly migrations = MIGRATIONS;
	private readonly byId = this.lookupsById<FamilyRow>("refresh_families");

	async insert(record: RefreshFamilyRecord): Promise<void> {
		await this.sql`insert into refresh_families ${this.sql(toRow(record) as never)}`;
	}

	async findByFingerprint(fingerprint: string): Promise<RefreshFamilyRecord | null> {
		const rows = await this.sql<FamilyRow[]>`
			select * from refresh_families where fingerprints @> array[${fingerprint}]::text[]`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async findById(id: string): Promise<RefreshFamilyRecord | null> {
		const row = await this.byId.get([id]);
		return row ? fromRow(row) : null;
	}

	async listLiveOfUser(userId: string, now: number): Promise<RefreshFamilyRecord[]> {
		const rows = await this.sql<FamilyRow[]>`
			select * from refresh_families
			where user_id = ${userId} and revoked_at is null and expires_at > ${new Date(now)}
			order by created_at, id`;
		return rows.map(fromRow);
	}

	async rotate(id: string, { expected, next, history }: Rotation): Promise<boolean> {
		// The appended array keeps its last `history` entries.
		const rows = await this.sql`
			update refresh_families set
				current = ${next.fingerprint},
				expires_at = ${new Date(next.expiresAt)},
				generation = generation + 1,
				previous = ${expected},
				rotated_at = ${new Date(next.rotatedAt)},
				successor = ${next.sealed},
				user_agent = ${next.userAgent},
				client_address = ${next.clientAddress},
				fingerprints = (fingerprints || ${next.fingerprint}::text)[
					greatest(1, cardinality(fingerprints) + 2 - ${history}::int):]
			where id = ${id} and current = ${expected} and revoked_at is null
			returning id`;
		return rows.length === 1;
	}

	async revoke(id: string, reason: string, now: number): Promise<RefreshFamilyRecord | null> {
		const rows = await this.sql<FamilyRow[]>`
			update refresh_families
			set current = null, successor = null, revoked_at = ${new Date(now)}, revoked_reason = ${reason}
			where id = ${id} and revoked_at is null returning *`;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}

	async revokeAllOfUser(userId: string, reason: string, now: number): Promise<number> {
		const rows = await this.sql`
			update refresh_families
			set current = null, successor = null, revoked_at = ${new Date(now)}, revoked_reason = ${reason}
			where user_id = ${userId} and revoked_at is null returning id`;
		return rows.length;
	}

	async clearSuccessorsBefore(cutoff: number): Promise<number> {
		const rows = await this.sql`
			update refresh_families set successor = null
			where successor is not null and rotated_at < ${new Date(cutoff)} returning id`;
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
		revoked_reason: r.revokedReason,
		previous: r.previous ?? null,
		rotated_at: toTimestamp(r.rotatedAt ?? null),
		successor: r.successor ?? null,
		user_agent: r.userAgent ?? null,
		client_address: r.clientAddress ?? null,
		scopes: r.scopes ?? null
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
		revokedReason: row.revoked_reason,
		previous: row.previous,
		rotatedAt: fromTimestamp(row.rotated_at),
		successor: row.successor,
		userAgent: row.user_agent,
		clientAddress: row.client_address,
		...(row.scopes === null ? {} : { scopes: [...row.scopes] })
	};
}
