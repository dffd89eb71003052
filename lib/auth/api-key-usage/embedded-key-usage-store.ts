import type Datastore from "@seald-io/nedb";
import { spend, type CreditState, type RefillDue } from "./key-limits";
import type { CreditDoc, KeyUsageStore } from "./key-usage-store";

/** The embedded store: counts in memory, credits written behind to their own NeDB file. */
export class EmbeddedKeyUsageStore implements KeyUsageStore {
	private readonly loaded = new Map<string, Promise<CreditState | null>>();
	private readonly dirty = new Set<string>();
	private readonly windows = new Map<string, { start: number; end: number; hits: number }>();
	private readonly timer: NodeJS.Timeout;
	private flushing: Promise<void> = Promise.resolve();

	constructor(
		private readonly db: Datastore<CreditDoc>,
		flushMs = 1000
	) {
		this.timer = setInterval(() => void this.flush().catch(() => undefined), flushMs);
		this.timer.unref();
	}

	async ensureIndexes(): Promise<void> {}

	private state(keyId: string): Promise<CreditState | null> {
		let state = this.loaded.get(keyId);
		if (!state) {
			state = this.db
				.findOneAsync({ _id: keyId })
				.then(doc =>
					doc ? { remaining: doc.remaining, refilledAt: doc.refilledAt } : null
				);
			this.loaded.set(keyId, state);
			// A failed read is not remembered: the next check reads again.
			state.catch(() => this.loaded.delete(keyId));
		}
		return state;
	}

	async setCredits(keyId: string, state: CreditState): Promise<void> {
		await this.db.updateAsync({ _id: keyId }, { _id: keyId, ...state }, { upsert: true });
		this.loaded.set(keyId, Promise.resolve({ ...state }));
		this.dirty.delete(keyId);
	}

	async spendCredit(keyId: string, due: RefillDue | null): Promise<number | null> {
		const state = await this.state(keyId);
		if (!state) return null;
		// No await between reading and writing the state: spends on this node are serial.
		const next = spend(state, due);
		if (next.state !== state) {
			Object.assign(state, next.state);
			this.dirty.add(keyId);
		}
		return next.spent ? state.remaining : null;
	}

	async credits(keyId: string): Promise<CreditState | null> {
		const state = await this.state(keyId);
		return state && { ...state };
	}

	async hit(keyId: string, name: string, start: number, end: number): Promise<number> {
		const id = `${keyId}\u0000${name}`;
		const window = this.windows.get(id);
		if (window && window.start === start) return ++window.hits;
		this.windows.set(id, { start, end, hits: 1 });
		return 1;
	}

	async removeKey(keyId: string): Promise<void> {
		this.loaded.delete(keyId);
		this.dirty.delete(keyId);
		for (const id of this.windows.keys()) {
			if (id.startsWith(`${keyId}\u0000`)) this.windows.delete(id);
		}
		await this.db.removeAsync({ _id: keyId }, {});
	}

	async removeEndedWindows(now: number): Promise<number> {
		let removed = 0;
		for (const [id, w] of this.windows) {
			if (w.end <= now) {
				this.windows.delete(id);
				removed++;
			}
		}
		return removed;
	}

	flush(): Promise<void> {
		this.flushing = this.flushing.then(async () => {
			const ids = [...this.dirty];
			this.dirty.clear();
			for (const id of ids) {
				const state = await this.loaded.get(id);
				if (!state) continue;
				try {
					await this.db.updateAsync({ _id: id }, { $set: { ...state } }, {});
				} catch (err) {
					this.dirty.add(id);
					throw err;
				}
			}
		});
		return this.flushing;
	}

	async close(): Promise<void> {
		clearInterval(this.timer);
		await this.flush();
	}
}
