/**
 * The few MongoDB collection methods the stores use, typed structurally: moleculer-db-adapter-mongo
 * pins the 3.x driver, which ships no type definitions of its own.
 */
export type MongoFilter = Record<string, unknown>;

export interface MongoCursor<T> {
	sort(spec: Record<string, 1 | -1>): MongoCursor<T>;
	limit(n: number): MongoCursor<T>;
	project(spec: Record<string, 0 | 1>): MongoCursor<T>;
	toArray(): Promise<T[]>;
}

export interface MongoCollection<T> {
	createIndex(
		spec: Record<string, 1 | -1>,
		options?: { unique?: boolean; sparse?: boolean; name?: string }
	): Promise<string>;
	insertOne(doc: T): Promise<unknown>;
	findOne(filter: MongoFilter): Promise<T | null>;
	find(filter: MongoFilter): MongoCursor<T>;
	updateOne(filter: MongoFilter, update: MongoFilter): Promise<unknown>;
	updateMany(filter: MongoFilter, update: MongoFilter): Promise<unknown>;
	findOneAndUpdate(
		filter: MongoFilter,
		update: MongoFilter,
		options?: { returnOriginal?: boolean; sort?: Record<string, 1 | -1>; upsert?: boolean }
	): Promise<{ value: T | null }>;
	findOneAndDelete(filter: MongoFilter): Promise<{ value: T | null }>;
	deleteMany(filter: MongoFilter): Promise<{ deletedCount?: number }>;
	aggregate<R>(pipeline: MongoFilter[]): { toArray(): Promise<R[]> };
}
