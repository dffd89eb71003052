import { randomBytes } from "node:crypto";
import { AuditRecorder, BATCH, MAX_BUFFERED } from "../../../lib/audit/recorder";
import { verifyChain, type AuditEntry, type AuditFields } from "../../../lib/audit/chain";
import type { AuditStore } from "../../../lib/audit/store/audit-store";

/** An in-memory store that can be made to fail. */
function memoryStore() {
	const rows: AuditEntry[] = [];
	const state = { failing: false, appends: 0 };
	const store = {
		async append(entries: AuditEntry[]) {
			state.appends++;
			if (state.failing) throw new Error("store down");
			rows.push(...entries);
		},
		async head(chain: string) {
			const last = rows.filter(r => r.chain === chain).at(-1);
			return last ? { seq: last.seq, mac: last.mac } : null;
		}
	} as unknown as AuditStore;
	return { store, rows, state };
}

const key = randomBytes(32);
const fields = (n: number): AuditFields => ({
	at: n,
	type: "auth.signedIn",
	outcome: "success",
	actor: "u",
	subject: "u",
	ip: null,
	userAgent: null,
	requestId: null,
	node: "n",
	data: {}
});

async function* stream(entries: AuditEntry[]) {
	yield* entries;
}

describe("AuditRecorder", () => {
	it("writes in batches, in order, and the written chain verifies", async () => {
		const { store, rows, state } = memoryStore();
		const recorder = new AuditRecorder(store, key, "n", () => undefined);
		await recorder.start();
		for (let i = 0; i < BATCH * 2 + 10; i++) recorder.record(fields(i));
		await recorder.flush();
		expect(rows.map(r => r.seq)).toEqual(rows.map((_, i) => i + 1));
		expect(state.appends).toBeLessThanOrEqual(4);
		expect(await verifyChain(key, "n", null, stream(rows))).toBeNull();
	});

	it("goes on with the chain the store has after a restart", async () => {
		const { store, rows } = memoryStore();
		const first = new AuditRecorder(store, key, "n", () => undefined);
		await first.start();
		first.record(fields(1));
		await first.flush();
		const second = new AuditRecorder(store, key, "n", () => undefined);
		await second.start();
		await second.recordNow(fields(2));
		expect(rows.map(r => r.seq)).toEqual([1, 2]);
		expect(await verifyChain(key, "n", null, stream(rows))).toBeNull();
	});

	it("keeps a batch the store refused and writes it once the store is back", async () => {
		const { store, rows, state } = memoryStore();
		const errors: unknown[] = [];
		const recorder = new AuditRecorder(store, key, "n", err => errors.push(err));
		await recorder.start();
		state.failing = true;
		recorder.record(fields(1));
		await recorder.flush();
		expect(errors).toHaveLength(1);
		expect(recorder.pending).toBe(1);
		await expect(recorder.recordNow(fields(2))).rejects.toThrow("could not be written");
		state.failing = false;
		await recorder.flush();
		expect(rows.map(r => r.seq)).toEqual([1, 2]);
	});

	it("drops the oldest unsent entries past MAX_BUFFERED, and counts them", async () => {
		const { store, state } = memoryStore();
		const recorder = new AuditRecorder(store, key, "n", () => undefined);
		await recorder.start();
		state.failing = true;
		for (let i = 0; i < MAX_BUFFERED + 5; i++) recorder.record(fields(i));
		expect(recorder.pending).toBe(MAX_BUFFERED);
		expect(recorder.dropped).toBe(5);
		await recorder.flush();
	});
});
