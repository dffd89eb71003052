import type { MongoCollection } from "../../store/mongo/collection";
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

/** MongoDB: findOneAndUpdate on one document decides each assignment, lease renewal and release. */
export class MongoPoolStore implements PoolStore {
	constructor(private readonly collection: MongoCollection<PoolDocument>) {}

	async ensureIndexes(): Promise<void> {
		await this.collection.createIndex({ hash: 1 }, { unique: true, sparse: true });
		await this.collection.createIndex({ slotKey: 1 }, { unique: true, sparse: true });
		await this.collection.createIndex({ pool: 1, kind: 1, assignedAt: 1 });
	}

	getConfig(pool: string): Promise<PoolConfigRecord | null> {
		return this.collection.findOne({ _id: configId(pool) }) as Promise<PoolConfigRecord | null>;
	}

	async saveConfig(config: PoolConfigRecord): Promise<PoolConfigRecord> {
		const { _id, ...fields } = config;
		await this.collection.findOneAndUpdate({ _id }, { $set: fields }, { upsert: true });
		return config;
	}

	async usedSlots(pool: string): Promise<number[]> {
		const rows = (await this.collection
			.find(query.tokensOf(pool))
			.project({ slot: 1, _id: 0 })
			.toArray()) as unknown as { slot: number }[];
		return rows.map(r => r.slot);
	}

	async insertToken(record: PoolTokenRecord): Promise<boolean> {
		try {
			await this.collection.insertOne(record);
			return true;
		} catch (err) {
			const e = err as { code?: number; message?: string };
			if (e.code === 11000 && String(e.message).includes("slotKey")) return false;
			throw err;
		}
	}

	findToken(pool: string, hashes: string[]): Promise<PoolTokenRecord | null> {
		return this.collection.findOne(
			query.token(pool, hashes)
		) as Promise<PoolTokenRecord | null>;
	}

	async assign(
		pool: string,
		{ holder, now, leaseExpiresAt }: Lease
	): Promise<PoolTokenRecord | null> {
		const res = await this.collection.findOneAndUpdate(
			query.available(pool, now),
			{ $set: { holder, leaseExpiresAt, assignedAt: now } },
			{ sort: { assignedAt: 1 }, returnOriginal: false }
		);
		return res.value as PoolTokenRecord | null;
	}

	async keepAlive(
		id: string,
		{ holder, now, leaseExpiresAt }: LeaseRenewal
	): Promise<PoolTokenRecord | null> {
		const res = await this.collection.findOneAndUpdate(
			query.renewable(id, holder, now),
			{ $set: { leaseExpiresAt } },
			{ returnOriginal: false }
		);
		return res.value as PoolTokenRecord | null;
	}

	async release(id: string, now: number, holder?: string): Promise<boolean> {
		const res = await this.collection.findOneAndUpdate(query.leased(id, holder, now), {
			$set: { holder: null, leaseExpiresAt: null }
		});
		return res.value !== null;
	}

	async removeToken(id: string): Promise<boolean> {
		return (await this.collection.findOneAndDelete({ _id: id, kind: "token" })).value !== null;
	}

	async removeExpired(pool: string, now: number): Promise<number> {
		const res = await this.collection.deleteMany(query.expired(pool, now));
		return res.deletedCount ?? 0;
	}

	async counts(pool: string, now: number): Promise<PoolCounts> {
		const rows = (await this.collection
			.find(query.tokensOf(pool))
			.project(query.COUNTED_FIELDS)
			.toArray()) as unknown as PoolTokenRecord[];
		return countTokens(rows, now);
	}
}
