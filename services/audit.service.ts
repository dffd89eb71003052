/**
 * The `audit` service: a tamper-evident security audit trail (docs/audit.md). It records what the
 * other services announce (every `auth.*` event: sign-ups, sign-ins and their failures, sessions
 * ended, passwords changed, keys and passkeys added or removed, accounts deleted…) with who, from
 * where and which request, into this node's chain (lib/audit/chain, lib/audit/recorder), and
 * serves them: a user's own (`GET /api/me/security-events`), the operator's search and NDJSON
 * export (`GET /api/admin/audit`, `/api/admin/audit/export`), verification (`audit.verify`, the
 * REPL's `audit-verify`, `npm run audit:verify`). Never a secret: entries keep ids and labels.
 */
import { hkdfSync } from "node:crypto";
import { Readable } from "node:stream";
import { Errors, type Context, type Service, type ServiceSchema } from "moleculer";
import createDbMixin, { type DbSettings, type StoreOwner } from "../mixins/db.mixin";
import CronMixin, {
	cleanupJob,
	cleanupScheduleFromEnv,
	type CleanupSchedule
} from "../mixins/cron.mixin";
import * as auditStores from "../lib/audit/store/audit-adapters";
import { walkChain, type AuditStore } from "../lib/audit/store/audit-store";
import {
	sealCheckpoint,
	verifyChain,
	type AuditEntry,
	type AuditFields,
	type ChainProblem
} from "../lib/audit/chain";
import { AuditRecorder } from "../lib/audit/recorder";
import { tokenSalts } from "../lib/config/secrets";
import { dataDirFromEnv, wholeNumberFromEnv } from "../lib/config/env";
import { isoDate } from "../lib/common/iso-date";
import { describeCause } from "../lib/store/store-errors";
import { count } from "../lib/broker/project-metrics";
import type { AuthMeta } from "../lib/auth/auth-types";

export interface AuditSettings extends DbSettings {
	/** Days an entry is kept (AUDIT_RETENTION_DAYS); the nightly job removes older ones. */
	retentionDays: number;
	cleanup: CleanupSchedule;
}

interface AuditLocals extends StoreOwner<AuditStore> {
	recorder: AuditRecorder;
	key: Buffer;
}

type AuditThis = Service<AuditSettings> & AuditLocals & AuditMethods;

interface AuditMethods {
	fieldsOf(ctx: Context<unknown, AuthMeta>, type: string): AuditFields;
	announce(entry: AuditEntry): void;
	page(entries: AuditEntry[], limit: number): { entries: AuditEntry[]; next: string | null };
	verifyAll(): Promise<{ chains: number; entries: number; problems: ChainProblem[] }>;
}

/** Events that say something went wrong (the rest are successes). */
const FAILURES = new Set(["auth.signInFailed", "auth.refreshTokenReused", "auth.passkeyCloned"]);
/** Events that are not about security (cache invalidation): not recorded. */
const IGNORED = new Set(["auth.callersChanged"]);
const LIMIT = {
	type: "number",
	integer: true,
	min: 1,
	max: 500,
	optional: true,
	convert: true
} as const;
const CURSOR = { type: "string", max: 300, optional: true } as const;
const TIME = { type: "date", convert: true, optional: true } as const;

/** What a payload may add to an entry: short scalars, never a field that could hold a secret. */
function dataOf(payload: Record<string, unknown>): AuditFields["data"] {
	const data: AuditFields["data"] = {};
	for (const [k, v] of Object.entries(payload ?? {})) {
		if (k === "userId" || /token|password|secret|code|key$/i.test(k)) continue;
		if (typeof v === "string") data[k] = v.slice(0, 200);
		else if (typeof v === "number" || typeof v === "boolean" || v === null) data[k] = v;
	}
	return data;
}

/** A cursor is the last entry's time and id, opaque to clients. */
function cursorOf(entry: AuditEntry): string {
	return Buffer.from(JSON.stringify([entry.at, entry._id])).toString("base64url");
}

function parseCursor(cursor: string | undefined): { at: number; id: string } | undefined {
	if (cursor == null) return undefined;
	try {
		const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [
			number,
			string
		];
		if (typeof at === "number" && typeof id === "string") return { at, id };
	} catch {
		// answered below
	}
	throw new Errors.ValidationError(
		"The 'cursor' is not one this service gave.",
		"VALIDATION_ERROR",
		[{ field: "cursor", type: "cursor", message: "The 'cursor' is not one this service gave." }]
	);
}

function publicEntry(e: AuditEntry) {
	return {
		id: e._id,
		at: isoDate(e.at),
		type: e.type,
		outcome: e.outcome,
		actor: e.actor,
		subject: e.subject,
		ip: e.ip,
		userAgent: e.userAgent,
		requestId: e.requestId,
		node: e.node,
		data: e.data
	};
}

const AuditService: ServiceSchema<AuditSettings, AuditMethods, AuditLocals> = {
	name: "audit",
	mixins: [createDbMixin<AuditStore>("audit_entries", auditStores), CronMixin],

	settings: {
		retentionDays: wholeNumberFromEnv(process.env, "AUDIT_RETENTION_DAYS", 365),
		cleanup: cleanupScheduleFromEnv("AUDIT", "30 0 * * *")
	},

	crons: [
		cleanupJob<AuditThis & { claimScheduledRun(job: string, at: Date): Promise<boolean> }>(
			"removeOldAuditEntries",
			async function () {
				await this.broker.call("audit.removeOld", {}, { nodeID: this.broker.nodeID });
			}
		)
	],

	events: {
		"auth.*"(this: AuditThis, ctx: Context<Record<string, unknown>, AuthMeta>) {
			const type = ctx.eventName ?? "";
			if (IGNORED.has(type)) return;
			this.announce(this.recorder.record(this.fieldsOf(ctx, type)));
		}
	},

	actions: {
		/** The signed-in user's own security events, newest first. */
		securityEvents: {
			params: { $$strict: true, limit: LIMIT, cursor: CURSOR },
			async handler(ctx: Context<{ limit?: number; cursor?: string }, AuthMeta>) {
				const user = ctx.meta.user;
				if (!user)
					throw new Errors.MoleculerClientError("Sign in first.", 401, "UNAUTHORIZED");
				const limit = ctx.params.limit ?? 20;
				const entries = await this.store.list({
					subject: user.id,
					before: parseCursor(ctx.params.cursor),
					limit: limit + 1
				});
				const { entries: shown, next } = this.page(entries, limit);
				return {
					events: shown.map(e => ({
						at: isoDate(e.at),
						type: e.type,
						method: typeof e.data.method === "string" ? e.data.method : null,
						outcome: e.outcome,
						ip: e.ip,
						userAgent: e.userAgent
					})),
					next
				};
			}
		},

		/** The operator's search (published: the gateway's admin routes, behind the admin credential). */
		list: {
			params: {
				$$strict: true,
				user: { type: "string", max: 64, optional: true },
				type: { type: "string", max: 100, optional: true },
				since: TIME,
				until: TIME,
				cursor: CURSOR,
				limit: LIMIT
			},
			async handler(
				ctx: Context<{
					user?: string;
					type?: string;
					since?: Date;
					until?: Date;
					cursor?: string;
					limit?: number;
				}>
			) {
				const { user, type, since, until } = ctx.params;
				const limit = ctx.params.limit ?? 100;
				// `!= null`: validation lets an optional field through as null.
				const entries = await this.store.list({
					...(user == null ? {} : { subject: user }),
					...(type == null ? {} : { type }),
					...(since == null ? {} : { since: since.getTime() }),
					...(until == null ? {} : { until: until.getTime() }),
					before: parseCursor(ctx.params.cursor),
					limit: limit + 1
				});
				const { entries: shown, next } = this.page(entries, limit);
				return { entries: shown.map(publicEntry), next };
			}
		},

		/** Every entry since `since`, one JSON object a line (application/x-ndjson), newest first. */
		export: {
			params: { $$strict: true, since: TIME },
			handler(ctx: Context<{ since?: Date }, { $responseType?: string }>) {
				ctx.meta.$responseType = "application/x-ndjson";
				const store = this.store;
				const since = ctx.params.since?.getTime();
				async function* lines() {
					let before: { at: number; id: string } | undefined;
					for (;;) {
						const batch = await store.list({
							...(since === undefined ? {} : { since }),
							before,
							limit: 1000
						});
						for (const e of batch) yield `${JSON.stringify(publicEntry(e))}\n`;
						if (batch.length < 1000) return;
						const last = batch[batch.length - 1];
						before = { at: last.at, id: last._id };
					}
				}
				return Readable.from(lines());
			}
		},

		/**
		 * An administrator's action, recorded and stored before it answers (auth calls it before
		 * making the change). For trusted services: public, never on the gateway.
		 */
		recordAdminAction: {
			visibility: "public",
			params: {
				$$strict: true,
				type: { type: "string", min: 1, max: 100, pattern: /^admin\.[A-Za-z]+$/ },
				actor: { type: "string", min: 1, max: 64 },
				subject: { type: "string", min: 1, max: 64, nullable: true },
				data: { type: "object", optional: true }
			},
			async handler(
				ctx: Context<
					{ type: string; actor: string; subject: string | null; data?: object },
					AuthMeta
				>
			): Promise<{ id: string }> {
				const { type, actor, subject, data } = ctx.params;
				const fields = this.fieldsOf(ctx, type);
				const entry = await this.recorder.recordNow({
					...fields,
					actor,
					subject,
					data: dataOf((data ?? {}) as Record<string, unknown>)
				});
				this.announce(entry);
				return { id: entry._id };
			}
		},

		/** Walks every chain: the first problem of each (none: intact). For operators. */
		verify: {
			visibility: "public",
			params: { $$strict: true },
			async handler(this: AuditThis) {
				await this.recorder.flush();
				return this.verifyAll();
			}
		},

		/** Retention: entries older than `retentionDays`, behind a checkpoint per chain. */
		removeOld: {
			visibility: "protected",
			params: { $$strict: true },
			async handler(this: AuditThis): Promise<{ removed: number }> {
				const cutoff = Date.now() - this.settings.retentionDays * 86_400_000;
				let removed = 0;
				for (const last of await this.store.lastBefore(cutoff)) {
					const checkpoint = sealCheckpoint(
						this.key,
						last.chain,
						last.seq,
						last.mac,
						Date.now()
					);
					removed += await this.store.removeThrough(checkpoint);
				}
				return { removed };
			}
		}
	},

	methods: {
		fieldsOf(this: AuditThis, ctx: Context<unknown, AuthMeta>, type: string): AuditFields {
			const payload = (ctx.params ?? {}) as Record<string, unknown>;
			const subject = typeof payload.userId === "string" ? payload.userId : null;
			return {
				at: Date.now(),
				type,
				outcome: FAILURES.has(type) ? "failure" : "success",
				actor: ctx.meta?.user?.id ?? subject ?? "system",
				subject,
				ip: typeof ctx.meta?.ip === "string" ? ctx.meta.ip : null,
				userAgent: typeof ctx.meta?.userAgent === "string" ? ctx.meta.userAgent : null,
				requestId: ctx.requestID ?? null,
				node: ctx.nodeID ?? this.broker.nodeID,
				data: dataOf(payload)
			};
		},

		/** Counted by type, and told to other services (alerts, SIEM forwarders), never more. */
		announce(this: AuditThis, entry: AuditEntry): void {
			count(this.broker, "mtk.audit.entries.total", { type: entry.type });
			this.broker.emit("audit.recorded", {
				id: entry._id,
				at: entry.at,
				type: entry.type,
				outcome: entry.outcome,
				subject: entry.subject
			});
		},

		page(entries: AuditEntry[], limit: number) {
			const shown = entries.slice(0, limit);
			return {
				entries: shown,
				next: entries.length > limit ? cursorOf(shown[shown.length - 1]) : null
			};
		},

		async verifyAll(this: AuditThis) {
			const problems: ChainProblem[] = [];
			let entries = 0;
			const chains = await this.store.chains();
			for (const chain of chains) {
				const checkpoint = await this.store.checkpoint(chain);
				async function* counted(source: AsyncIterable<AuditEntry>) {
					for await (const e of source) {
						entries++;
						yield e;
					}
				}
				const walked = counted(walkChain(this.store, chain, checkpoint?.seq ?? 0));
				const problem = await verifyChain(this.key, chain, checkpoint, walked);
				if (problem) problems.push(problem);
			}
			return { chains: chains.length, entries, problems };
		}
	},

	created(this: AuditThis) {
		const dataDir = this.settings.dataDir ?? dataDirFromEnv(process.env);
		// AUDIT_SECRET, else a key derived from TOKEN_SALT (set AUDIT_SECRET before rotating it).
		const secret =
			process.env.AUDIT_SECRET ||
			tokenSalts(dataDir, message => this.logger.warn(message)).current;
		this.key = Buffer.from(hkdfSync("sha256", secret, "", "audit-chain", 32));
	},

	async started(this: AuditThis) {
		this.recorder = new AuditRecorder(this.store, this.key, this.broker.nodeID, err =>
			this.logger.warn(`Could not write audit entries: ${describeCause(err)}`)
		);
		await this.recorder.start();
	},

	async stopped(this: AuditThis) {
		await this.recorder?.close();
	}
};

export default AuditService;
