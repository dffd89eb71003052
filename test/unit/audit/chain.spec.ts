import { randomBytes } from "node:crypto";
import {
	sealCheckpoint,
	sealEntry,
	verifyChain,
	type AuditEntry,
	type AuditFields
} from "../../../lib/audit/chain";

const key = randomBytes(32);
const fields = (type: string, n: number): AuditFields => ({
	at: 1_000 + n,
	type,
	outcome: "success",
	actor: "u1",
	subject: "u1",
	ip: "203.0.113.9",
	userAgent: "x".repeat(300),
	requestId: `r${n}`,
	node: "audit-a",
	data: { method: "password" }
});

function chainOf(n: number, chain = "audit-a"): AuditEntry[] {
	const entries: AuditEntry[] = [];
	for (let i = 1; i <= n; i++) {
		const last = entries[entries.length - 1];
		entries.push(
			sealEntry(
				key,
				chain,
				last ? { seq: last.seq, mac: last.mac } : null,
				fields("auth.signIn", i)
			)
		);
	}
	return entries;
}

async function* stream(entries: AuditEntry[]) {
	for (const e of entries) yield e;
}

describe("the audit chain", () => {
	it("links each entry to the one before, numbers them, and truncates the user agent", () => {
		const [a, b] = chainOf(2);
		expect(a).toMatchObject({ _id: "audit-a:1", seq: 1, prev: "" });
		expect(b).toMatchObject({ _id: "audit-a:2", seq: 2, prev: a.mac });
		expect(a.userAgent).toHaveLength(200);
	});

	it("verifies an untouched chain, in any key order a store gives back", async () => {
		const entries = chainOf(5).map(
			e =>
				JSON.parse(
					JSON.stringify(Object.fromEntries(Object.entries(e).reverse()))
				) as AuditEntry
		);
		expect(await verifyChain(key, "audit-a", null, stream(entries))).toBeNull();
	});

	it("names a changed entry", async () => {
		const entries = chainOf(5);
		entries[2] = { ...entries[2], outcome: "failure" };
		expect(await verifyChain(key, "audit-a", null, stream(entries))).toEqual({
			chain: "audit-a",
			kind: "forged",
			id: "audit-a:3"
		});
	});

	it("names where entries were removed, renumbered or not", async () => {
		const entries = chainOf(5);
		expect(
			await verifyChain(
				key,
				"audit-a",
				null,
				stream([...entries.slice(0, 2), ...entries.slice(3)])
			)
		).toEqual({ chain: "audit-a", kind: "removed", after: "audit-a:2", missing: 1 });
		expect(await verifyChain(key, "audit-a", null, stream(entries.slice(1)))).toEqual({
			chain: "audit-a",
			kind: "removed",
			after: null,
			missing: 1
		});
		// The tail cut off is not detectable from the chain alone; a renumbered middle is.
		const renumbered = [...entries.slice(0, 2), { ...entries[3], seq: 3, _id: "audit-a:3" }];
		expect(await verifyChain(key, "audit-a", null, stream(renumbered))).toMatchObject({
			kind: "forged",
			id: "audit-a:3"
		});
	});

	it("names an inserted entry: written without the key, or a repeated seq", async () => {
		const entries = chainOf(3);
		const forged: AuditEntry = {
			...entries[2],
			_id: "audit-a:4",
			seq: 4,
			prev: entries[2].mac,
			type: "auth.roleChanged",
			mac: "made-up"
		};
		expect(await verifyChain(key, "audit-a", null, stream([...entries, forged]))).toEqual({
			chain: "audit-a",
			kind: "forged",
			id: "audit-a:4"
		});
		expect(await verifyChain(key, "audit-a", null, stream([...entries, entries[1]]))).toEqual({
			chain: "audit-a",
			kind: "inserted",
			id: "audit-a:2"
		});
	});

	it("verifies on from a retention checkpoint, and names a changed checkpoint", async () => {
		const entries = chainOf(6);
		const checkpoint = sealCheckpoint(key, "audit-a", 3, entries[2].mac, 5_000);
		expect(await verifyChain(key, "audit-a", checkpoint, stream(entries.slice(3)))).toBeNull();
		expect(
			await verifyChain(key, "audit-a", { ...checkpoint, seq: 2 }, stream(entries.slice(3)))
		).toEqual({ chain: "audit-a", kind: "checkpoint", id: "audit-a:checkpoint" });
		expect(
			await verifyChain(key, "audit-a", checkpoint, stream(entries.slice(4)))
		).toMatchObject({
			kind: "removed"
		});
	});

	it("a chain under another key does not verify", async () => {
		expect(
			await verifyChain(randomBytes(32), "audit-a", null, stream(chainOf(2)))
		).toMatchObject({
			kind: "forged",
			id: "audit-a:1"
		});
	});
});
