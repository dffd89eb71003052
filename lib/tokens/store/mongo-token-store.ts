import type { MongoCollection } from "../../store/mongo/collection";
import type { TokenChanges, TokenMatch, TokenRecord, TokenStore } from "./token-store";

/** MongoDB: single-document atomic operations (findOneAndDelete) decide concurrent consumes. */
export class MongoTokenStore implements TokenStore {
	constructor(private readonly collection: MongoCollection<TokenRecord>) {}

	async ensureIndexes(): Promise<void> {
		await this.collection.createIndex({ hash: 1 }, { unique: true });
		await this.collection.createIndex({ owner: 1, type: 1 });
		await this.collection.createIndex({ expiresAt: 1 }, { sparse: true });
	}

	async insert(record: TokenRecord): Promise<void> {
		await this.collection.insertOne(record);
	}

	findByHashes(hashes: string[]): Promise<TokenRecord | null> {
		return this.collection.findOne(
			hashes.length === 1 ? { hash: hashes[0] } : { hash: { $in: hashes } }
		);
	}

	async touch(ids: string[], now: number, staleBefore: number): Promise<void> {
		await this.collection.updateMany(
			{
				_id: { $in: ids },
				$or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: staleBefore } }]
			},
			{ $set: { lastUsedAt: now } }
		);
	}

	async consume(match: TokenMatch, now: number): Promise<TokenRecord | null> {
		const res = await this.collection.findOneAndDelete({
			...matchFilter(match),
			$or: [{ expiresAt: null }, { expiresAt: { $gt: now } }]
		});
		return res.value;
	}

	async remove(match: TokenMatch): Promise<TokenRecord | null> {
		return (await this.collection.findOneAndDelete(matchFilter(match))).value;
	}

	async removeById(id: string, owner: string): Promise<TokenRecord | null> {
		return (await this.collection.findOneAndDelete({ _id: id, owner })).value;
	}

	async update(id: string, owner: string, changes: TokenChanges): Promise<TokenRecord | null> {
		return (
			await this.collection.findOneAndUpdate(
				{ _id: id, owner },
				{ $set: changes },
				{ returnOriginal: false }
			)
		).value;
	}

	listByOwner(owner: string, type?: string): Promise<TokenRecord[]> {
		return this.collection
			.find(type === undefined ? { owner } : { owner, type })
			.sort({ createdAt: 1 })
			.toArray();
	}

	async removeByOwner(owner: string, type?: string): Promise<TokenRecord[]> {
		const records = await this.listByOwner(owner, type);
		return this.deleteAll(records);
	}

	async removeExpired(now: number, limit: number): Promise<TokenRecord[]> {
		const records = await this.collection
			.find({ expiresAt: { $lte: now } })
			.limit(limit)
			.toArray();
		return this.deleteAll(records);
	}

	async countByType(now: number): Promise<Record<string, { live: number; expired: number }>> {
		const rows = await this.collection
			.aggregate<{ _id: string; live: number; expired: number }>([
				{
					$group: {
						_id: "$type",
						expired: {
							$sum: {
								$cond: [
									{
										$and: [
											{ $ne: ["$expiresAt", null] },
											{ $lte: ["$expiresAt", now] }
										]
									},
									1,
									0
								]
							}
						},
						total: { $sum: 1 }
					}
				},
				{ $project: { expired: 1, live: { $subtract: ["$total", "$expired"] } } }
			])
			.toArray();
		return Object.fromEntries(rows.map(r => [r._id, { live: r.live, expired: r.expired }]));
	}

	private async deleteAll(records: TokenRecord[]): Promise<TokenRecord[]> {
		if (records.length > 0) {
			await this.collection.deleteMany({ _id: { $in: records.map(r => r._id) } });
		}
		return records;
	}
}

function matchFilter(match: TokenMatch): Record<string, unknown> {
	const filter: Record<string, unknown> = {
		hash: match.hashes.length === 1 ? match.hashes[0] : { $in: match.hashes },
		type: match.type
	};
	if (match.owner !== undefined) filter.owner = match.owner;
	return filter;
}
