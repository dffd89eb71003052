import { MigratedStore, uniqueViolation, type Migration } from "../../store/postgres/migrations";
import {
	DuplicateUserError,
	type PasswordHashChange,
	type UserChanges,
	type UserRecord,
	type UserSearch,
	type UserStore
} from "./user-store";

interface UserRow {
	id: string;
	username: string;
	username_key: string;
	email: string;
	email_key: string;
	password_hash: string | null;
	email_verified: boolean;
	scopes: string[];
	tokens_valid_after: Date;
	totp_secret: string | null;
	totp_enabled_at: Date | null;
	totp_last_step: string | null;
	recovery_codes: string[];
	locked_at: Date | null;
	locked_until: Date | null;
	lock_reason: string | null;
	last_sign_in_at: Date | null;
	created_at: Date;
	updated_at: Date;
}

const MIGRATIONS: Migration[] = [
	[
		`create table users (
			id text primary key,
			username text not null,
			username_key text not null unique,
			email text not null,
			email_key text not null unique,
			password_hash text,
			email_verified boolean not null,
			scopes text[] not null default '{}',
			tokens_valid_after timestamptz not null,
			created_at timestamptz not null,
			updated_at timestamptz not null
		)`,
		`create index users_unconfirmed_idx on users (created_at) where not email_verified`
	],
	[
		// TOTP (see UserRecord).
		`alter table users
			add column totp_secret text,
			add column totp_enabled_at timestamptz,
			add column totp_last_step bigint,
			add column recovery_codes text[] not null default '{}'`
	],
	[
		// Administrators' locks and searches (see UserRecord, UserSearch).
		`alter table users
			add column locked_at timestamptz,
			add column locked_until timestamptz,
			add column lock_reason text,
			add column last_sign_in_at timestamptz`,
		`create index users_username_prefix_idx on users (username_key text_pattern_ops)`,
		`create index users_email_prefix_idx on users (email_key text_pattern_ops)`
	]
];

/** Columns holding epoch-millisecond fields as timestamps. */
const TIME_COLUMNS = new Set<keyof UserRow>([
	"tokens_valid_after",
	"totp_enabled_at",
	"locked_at",
	"locked_until"
]);

/** UserChanges' fields and their columns. */
const CHANGE_COLUMNS: Record<keyof UserChanges, keyof UserRow> = {
	passwordHash: "password_hash",
	emailVerified: "email_verified",
	scopes: "scopes",
	tokensValidAfter: "tokens_valid_after",
	totpSecret: "totp_secret",
	totpEnabledAt: "totp_enabled_at",
	totpLastStep: "totp_last_step",
	recoveryCodes: "recovery_codes",
	lockedAt: "locked_at",
	lockedUntil: "locked_until",
	lockReason: "lock_reason"
};

/**
 * PostgreSQL: unique constraints on the lower-case keys; each update is one statement. Lookups by
 * id (every API-key and JWT request resolves its user) are batched like token lookups.
 */
export class PostgresUserStore extends MigratedStore implements UserStore {
	readonly component = "users";
	readonly migrations = MIGRATIONS;
	private readonly byId = this.lookupsById<UserRow>("users");

	async insert(record: UserRecord): Promise<void> {
		try {
			await this.sql`insert into users ${this.sql(toRow(record) as never)}`;
		} catch (err) {
			if (uniqueViolation(err) !== null) throw new DuplicateUserError();
			throw err;
		}
	}

	async findById(id: string): Promise<UserRecord | null> {
		const row = await this.byId.get([id]);
		return row ? fromRow(row) : null;
	}

	findByUsernameKey(usernameKey: string): Promise<UserRecord | null> {
		return this.one(
			this.sql<UserRow[]>`select * from users where username_key = ${usernameKey}`
		);
	}

	findByEmailKey(emailKey: string): Promise<UserRecord | null> {
		return this.one(this.sql<UserRow[]>`select * from users where email_key = ${emailKey}`);
	}

	update(id: string, changes: UserChanges, now: number): Promise<UserRecord | null> {
		const set: Record<string, unknown> = { updated_at: new Date(now) };
		for (const [field, value] of Object.entries(changes)) {
			if (value === undefined) continue;
			const column = CHANGE_COLUMNS[field as keyof UserChanges];
			set[column] =
				TIME_COLUMNS.has(column) && value !== null ? new Date(value as number) : value;
		}
		return this.one(
			this.sql<
				UserRow[]
			>`update users set ${this.sql(set as never)} where id = ${id} returning *`
		);
	}

	async replacePasswordHash(
		id: string,
		{ expected, next, now }: PasswordHashChange
	): Promise<boolean> {
		const rows = await this.sql`
			update users set password_hash = ${next}, updated_at = ${new Date(now)}
			where id = ${id} and password_hash = ${expected} returning id`;
		return rows.length === 1;
	}

	async advanceTotpStep(id: string, step: number): Promise<boolean> {
		const rows = await this.sql`
			update users set totp_last_step = ${step}
			where id = ${id} and (totp_last_step is null or totp_last_step < ${step}) returning id`;
		return rows.length === 1;
	}

	async spendRecoveryCode(id: string, hash: string): Promise<boolean> {
		const rows = await this.sql`
			update users set recovery_codes = array_remove(recovery_codes, ${hash})
			where id = ${id} and ${hash} = any(recovery_codes) returning id`;
		return rows.length === 1;
	}

	async remove(id: string): Promise<boolean> {
		const rows = await this.sql`delete from users where id = ${id} returning id`;
		return rows.length === 1;
	}

	async findUnconfirmedBefore(cutoff: number, limit: number): Promise<UserRecord[]> {
		const rows = await this.sql<UserRow[]>`
			select * from users where not email_verified and created_at < ${new Date(cutoff)}
			order by created_at limit ${limit}`;
		return rows.map(fromRow);
	}

	async recordSignIn(id: string, at: number): Promise<void> {
		await this.sql`update users set last_sign_in_at = ${new Date(at)} where id = ${id}`;
	}

	async search({ prefix, status, after, limit, now }: UserSearch): Promise<UserRecord[]> {
		const sql = this.sql;
		const at = new Date(now);
		const like = prefix ? `${prefix.replace(/[\\%_]/g, "\\$&")}%` : null;
		const locked = sql`(locked_at is not null and (locked_until is null or locked_until > ${at}))`;
		const rows = await sql<UserRow[]>`
			select * from users where true
			${like === null ? sql`` : sql`and (username_key like ${like} or email_key like ${like})`}
			${after === undefined ? sql`` : sql`and username_key > ${after}`}
			${status === undefined ? sql`` : status === "locked" ? sql`and ${locked}` : sql`and not ${locked} and email_verified = ${status === "active"}`}
			order by username_key limit ${limit}`;
		return rows.map(fromRow);
	}

	async listEmails(): Promise<{ _id: string; email: string }[]> {
		const rows = await this.sql<{ id: string; email: string }[]>`select id, email from users`;
		return rows.map(r => ({ _id: r.id, email: r.email }));
	}

	private async one(query: Promise<UserRow[]>): Promise<UserRecord | null> {
		const rows = await query;
		return rows.length > 0 ? fromRow(rows[0]) : null;
	}
}

function toRow(r: UserRecord): UserRow {
	return {
		id: r._id,
		username: r.username,
		username_key: r.usernameKey,
		email: r.email,
		email_key: r.emailKey,
		password_hash: r.passwordHash,
		email_verified: r.emailVerified,
		scopes: r.scopes,
		tokens_valid_after: new Date(r.tokensValidAfter),
		totp_secret: r.totpSecret ?? null,
		totp_enabled_at: r.totpEnabledAt == null ? null : new Date(r.totpEnabledAt),
		totp_last_step: r.totpLastStep == null ? null : String(r.totpLastStep),
		recovery_codes: r.recoveryCodes ?? [],
		locked_at: dateOrNull(r.lockedAt),
		locked_until: dateOrNull(r.lockedUntil),
		lock_reason: r.lockReason ?? null,
		last_sign_in_at: dateOrNull(r.lastSignInAt),
		created_at: new Date(r.createdAt),
		updated_at: new Date(r.updatedAt)
	};
}

/** The TOTP fields, only for a user who ever enrolled (as the other stores keep them). */
function totpOf(row: UserRow): Partial<UserRecord> {
	if (
		row.totp_secret === null &&
		row.totp_enabled_at === null &&
		row.recovery_codes.length === 0
	) {
		return {};
	}
	return {
		totpSecret: row.totp_secret,
		totpEnabledAt: row.totp_enabled_at === null ? null : row.totp_enabled_at.getTime(),
		totpLastStep: row.totp_last_step === null ? null : Number(row.totp_last_step),
		recoveryCodes: [...row.recovery_codes]
	};
}

function dateOrNull(ms: number | null | undefined): Date | null {
	return ms == null ? null : new Date(ms);
}

/** The lock and last sign-in, only when set (as the other stores keep them). */
function lockOf(row: UserRow): Partial<UserRecord> {
	const fields: Partial<UserRecord> = {};
	if (row.locked_at !== null) {
		fields.lockedAt = row.locked_at.getTime();
		fields.lockedUntil = row.locked_until?.getTime() ?? null;
		fields.lockReason = row.lock_reason;
	}
	if (row.last_sign_in_at !== null) fields.lastSignInAt = row.last_sign_in_at.getTime();
	return fields;
}

function fromRow(row: UserRow): UserRecord {
	return {
		_id: row.id,
		username: row.username,
		usernameKey: row.username_key,
		email: row.email,
		emailKey: row.email_key,
		passwordHash: row.password_hash,
		emailVerified: row.email_verified,
		scopes: [...row.scopes],
		tokensValidAfter: row.tokens_valid_after.getTime(),
		...totpOf(row),
		...lockOf(row),
		createdAt: row.created_at.getTime(),
		updatedAt: row.updated_at.getTime()
	};
}
