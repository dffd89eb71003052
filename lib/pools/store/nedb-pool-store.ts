import type Datastore from "@seald-io/nedb";
import { configId, countTokens } from "./pool-store";
import type {
	Lease,
	LeaseRenewal,
	PoolConfigRecord,
	PoolCounts,
	PoolDocument,
	PoolStore,
	PoolTokenRecord
} from "./pool-store";
import * as query from "./pool-mongo-queries";

/** Candidates read per assignment round, and rounds before giving up under heavy contention. */
const CANDIDATES = 16;
const ROUNDS = 8;

/**
 * NeDB (moleculer-db's MemoryAdapter, persisted to a file). Every operation runs through NeDB's
 * serial executor, so a conditional update that reports one affected document is the single winner
 * among concurrent assignments of that token. Native *Async methods only (see nedb-token-store.ts).
 */
export class NedbPoolStore implements PoolStore {
	constructor(private readonly db: Datastore<PoolDocument>) {}

	async ensureIndexes(): Promise<void> {
		await this.db.ensureIndexAsync({ fieldName: "hash", unique: true, sparse: true });
		await this.db.ensureIndexAsync({ fieldName: "slotKey", unique: true, sparse: true });
		await this.db.ensureIndexAsync({ fieldName: "pool" });
	}

	getConfig(pool: string): Promise<PoolConfigRecord | null> {
		return this.db.findOneAsync({ _id: configId(pool) }) as Promise<PoolConfigRecord | null>;
	}

	async saveConfig(config: PoolConfigRecord): Promise<PoolConfigRecord> {
		await this.db.updateAsync({ _id: config._id }, config, { upsert: true });
		return config;
	}

	async usedSlots(pool: string): Promise<number[]> {
		const rows = (await this.db.findAsync(query.tokensOf(pool), {
			slot: 1,
			_id: 0
		})) as unknown as { slot: number }[];
		return rows.map(r => r.slot);
	}

	async insertToken(record: PoolTokenRecord): Promise<boolean> {
		try {
			await this.db.insertAsync(record);
			return true;
		} catch (err) {
			const e = err as { errorType?: string; key?: unknown };
			if (e.errorType === "uniqueViolated" && e.key === record.slotKey) return false;
			throw err;
		}
	}

	findToken(pool: string, hashes: string[]): Promise<PoolTokenRecord | null> {
		return this.db.findOneAsync(query.token(pool, hashes)) as Promise<PoolTokenRecord | null>;
	}

	async assign(
		pool: string,
		{ holder, now, leaseExpiresAt }: Lease
	): Promise<PoolTokenRecord | null> {
		const available = query.available(pool, now);
		for (let round = 0; round < ROUNDS; round++) {
			const candidates = (await this.db
				.findAsync(available, { _id: 1 })
				.sort({ assignedAt: 1 })
				.limit(CANDIDATES)) as unknown as { _id: string }[];
			if (candidates.length === 0) return null;
			// The least recently assigned first; if another caller took it, the others from a random
			// start, so concurrent callers do not all race for the same next one.
			const rest = candidates.length - 1;
			const start = Math.floor(Math.random() * rest);
			for (let i = 0; i < candidates.length; i++) {
				const { _id } = candidates[i === 0 ? 0 : 1 + ((start + i - 1) % rest)];
				const res = await this.db.updateAsync(
					{ ...available, _id },
					{ $set: { holder, leaseExpiresAt, assignedAt: now } },
					{ returnUpdatedDocs: true }
				);
				if (res.numAffected === 1) return res.affectedDocuments as PoolTokenRecord;
			}
		}
		return null;
	}

	async keepAlive(
		id: string,
		{ holder, now, leaseExpiresAt }: LeaseRenewal
	): Promise<PoolTokenRecord | null> {
		const res = await this.db.updateAsync(
			query.renewable(id, holder, now),
			{ $set: { leaseExpiresAt } },
			{ returnUpdatedDocs: true }
		);
		return res.numAffected === 1 ? (res.affectedDocuments as PoolTokenRecord) : null;
	}

	async release(id: string, now: number, holder?: string): Promise<boolean> {
		const res = await this.db.updateAsync(
			query.leased(id, holder, now),
			{ $set: { holder: null, leaseExpiresAt: null } },
			{}
		);
		return res.numAffected === 1;
	}

	async removeToken(id: string): Promise<boolean> {
		return (await this.db.removeAsync({ _id: id, kind: "token" }, {})) === 1;
	}

	removeExpired(pool: string, now: number): Promise<number> {
		return this.db.removeAsync(query.expired(pool, now), { multi: true });
	}

	async counts(pool: string, now: number): Promise<PoolCounts> {
		const rows = (await this.db.findAsync(
			query.tokensOf(pool),
			query.COUNTED_FIELDS
		)) as unknown as PoolTokenRecord[];
		return countTokens(rows, now);
	}
}
