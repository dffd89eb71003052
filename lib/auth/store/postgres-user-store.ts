import { MigratedStore, uniqueViolation, type Migration } from "../../store/postgres/migrations";
import {
	DuplicateUserError,
	type PasswordHashChange,
	type UserChanges,
	type UserRecord,
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
	]
];

/** UserChanges' fields and their columns. */
const CHANGE_COLUMNS: Record<keyof UserChanges, keyof UserRow> = {
	passwordHash: "password_hash",
	emailVerified: "email_verified",
	scopes: "scopes",
	tokensValidAfter: "tokens_valid_after",
	totpSecret: "totp_secret",
	totpEnabledAt: "totp_enabled_at",
	totpLastStep: "totp_last_step",
	recoveryCodes: "recovery_codes"
};

/**
 * PostgreSQL: unique constraints on the lower-case keys; each update is one statement. Lookups by
 * id (every API-key and JWT request resolves its user) are batched like token lookups.
 */
export class PostgresUserStore extends MigratedStore implements UserStore {
	protected readonly component = "users";
	protected readonly migrations = MIGRATIONS;
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
				(column === "tokens_valid_after" || column === "totp_enabled_at") && value !== null
					? new Date(value as number)
					: value;
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
		createdAt: row.created_at.getTime(),
		updatedAt: row.updated_at.getTime()
	};
}
