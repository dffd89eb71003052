import { MigratedStore, type Migration } from "../../store/postgres/migrations";
import { inTransaction } from "../../store/postgres/transaction";
import type { AuditCheckpoint, AuditEntry, AuditFields, ChainHead } from "../chain";
import { splitEntryId, type AuditQuery, type AuditStore } from "./audit-store";

interface EntryRow {
	chain: string;
	seq: string;
	prev: string;
	mac: string;
	at: Date;
	type: string;
	outcome: AuditFields["outcome"];
	actor: string;
	subject: string | null;
	ip: string | null;
	user_agent: string | null;
	request_id: string | null;
	node: string;
	data: AuditFields["data"];
}

const MIGRATIONS: Migration[] = [
	[
		`create table audit_entries (
			chain text not null,
			seq bigint not null,
			prev text not null,
			mac text not null,
			at timestamptz not null,
			type text not null,
			outcome text not null,
			actor text not null,
			subject text,
			ip text,
			user_agent text,
			request_id text,
			node text not null,
			data jsonb not null,
			primary key (chain, seq)
		)`,
		`create index audit_entries_at_idx on audit_entries (at desc, chain, seq)`,
		`create index audit_entries_subject_idx on audit_entries (subject, at desc)`,
		`create table audit_checkpoints (
			chain text primary key,
			seq bigint not null,
			mac text not null,
			at timestamptz not null,
			seal text not null
		)`
	]
];

function toEntry(r: EntryRow): AuditEntry {
	const seq = Number(r.seq);
	return {
		_id: `${r.chain}:${seq}`,
		chain: r.chain,
		seq,
		prev: r.prev,
		mac: r.mac,
		at: r.at.getTime(),
		type: r.type,
		outcome: r.outcome,
		actor: r.actor,
		subject: r.subject,
		ip: r.ip,
		userAgent: r.user_agent,
		requestId: r.request_id,
		node: r.node,
		data: r.data
	};
}

/** PostgreSQL: a batch is one multi-row insert; pages by (at, chain, seq). */
export class PostgresAuditStore extends MigratedStore implements AuditStore {
	readonly component = "audit";
	readonly migrations = MIGRATIONS;

	async append(entries: AuditEntry[]): Promise<void> {
		if (entries.length === 0) return;
		const rows = entries.map(e => ({
			chain: e.chain,
			seq: e.seq,
			prev: e.prev,
			mac: e.mac,
			at: new Date(e.at),
			type: e.type,
			outcome: e.outcome,
			actor: e.actor,
			subject: e.subject,
			ip: e.ip,
			user_agent: e.userAgent,
			request_id: e.requestId,
			node: e.node,
			data: this.sql.json(e.data)
		}));
		await this.sql`insert into audit_entries ${this.sql(rows)}`;
	}

	async head(chain: string): Promise<ChainHead | null> {
		const [row] = await this.sql<{ seq: string; mac: string }[]>`
			select seq, mac from audit_entries where chain = ${chain} order by seq desc limit 1`;
		return row ? { seq: Number(row.seq), mac: row.mac } : null;
	}

	async list(q: AuditQuery): Promise<AuditEntry[]> {
		const sql = this.sql;
		const [beforeChain, beforeSeq] = q.before ? splitEntryId(q.before.id) : ["", 0];
		const rows = await sql<EntryRow[]>`
			select * from audit_entries
			where true
				${q.subject !== undefined ? sql`and subject = ${q.subject}` : sql``}
				${q.type !== undefined ? sql`and type = ${q.type}` : sql``}
				${q.since !== undefined ? sql`and at >= ${new Date(q.since)}` : sql``}
				${q.until !== undefined ? sql`and at < ${new Date(q.until)}` : sql``}
				${q.before ? sql`and (at, chain, seq) < (${new Date(q.before.at)}, ${beforeChain}, ${beforeSeq})` : sql``}
			order by at desc, chain desc, seq desc
			limit ${q.limit}`;
		return rows.map(toEntry);
	}

	async chains(): Promise<string[]> {
		const rows = await this.sql<{ chain: string }[]>`
			select distinct chain from audit_entries order by chain`;
		return rows.map(r => r.chain);
	}

	async walk(chain: string, afterSeq: number, limit: number): Promise<AuditEntry[]> {
		const rows = await this.sql<EntryRow[]>`
			select * from audit_entries where chain = ${chain} and seq > ${afterSeq}
			order by seq limit ${limit}`;
		return rows.map(toEntry);
	}

	async checkpoint(chain: string): Promise<AuditCheckpoint | null> {
		const [row] = await this.sql<
			{ chain: string; seq: string; mac: string; at: Date; seal: string }[]
		>`
			select * from audit_checkpoints where chain = ${chain}`;
		return row
			? {
					chain: row.chain,
					seq: Number(row.seq),
					mac: row.mac,
					at: row.at.getTime(),
					seal: row.seal
				}
			: null;
	}

	async lastBefore(cutoff: number): Promise<{ chain: string; seq: number; mac: string }[]> {
		const rows = await this.sql<{ chain: string; seq: string; mac: string }[]>`
			select distinct on (chain) chain, seq, mac from audit_entries
			where at < ${new Date(cutoff)} order by chain, seq desc`;
		return rows.map(r => ({ chain: r.chain, seq: Number(r.seq), mac: r.mac }));
	}

	async removeThrough(c: AuditCheckpoint): Promise<number> {
		return inTransaction(this.sql, async tx => {
			await tx`
				insert into audit_checkpoints (chain, seq, mac, at, seal)
				values (${c.chain}, ${c.seq}, ${c.mac}, ${new Date(c.at)}, ${c.seal})
				on conflict (chain) do update set seq = excluded.seq, mac = excluded.mac,
					at = excluded.at, seal = excluded.seal`;
			const res =
				await tx`delete from audit_entries where chain = ${c.chain} and seq <= ${c.seq}`;
			return res.count;
		});
	}
}
