/**
 * The audit trail's tamper evidence: every entry carries the MAC of the entry before it in its
 * chain, and its own MAC over its fields and that link (HMAC-SHA256 under a key from
 * AUDIT_SECRET). One chain per audit node (`chain` = its node id, `seq` counting from 1): appends
 * need no coordination between nodes, and a node's chain is one ordered run to walk.
 *
 * Someone with write access to the store but not the key can change, remove or insert entries,
 * but not so that the chains still verify: `verifyChain` names the first entry that does not (see
 * ChainProblem). Retention removes a chain's oldest entries and
 * leaves a checkpoint (the last removed `seq` and MAC, itself MACed) to verify on from.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface AuditFields {
	/** Epoch milliseconds. */
	at: number;
	type: string;
	outcome: "success" | "failure";
	/** A user id, `admin:<id>`, `admin-token` or `system`. */
	actor: string;
	/** The user the entry is about, if any. */
	subject: string | null;
	ip: string | null;
	userAgent: string | null;
	requestId: string | null;
	node: string;
	data: Record<string, string | number | boolean | null>;
}

export interface AuditEntry extends AuditFields {
	/** `<chain>:<seq>`. */
	_id: string;
	chain: string;
	seq: number;
	/** The MAC of the entry before in the chain ("" for the first, or the checkpoint's). */
	prev: string;
	mac: string;
}

export interface AuditCheckpoint {
	chain: string;
	/** The last removed entry's seq and MAC: the next entry links to it. */
	seq: number;
	mac: string;
	at: number;
	/** MAC over the three fields above. */
	seal: string;
}

/** Where a chain is at: its last seq and MAC. */
export interface ChainHead {
	seq: number;
	mac: string;
}

const USER_AGENT_MAX = 200;

/** Canonical JSON: keys sorted, so a MAC does not depend on a store's key order. */
function canonical(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
	if (value && typeof value === "object") {
		const entries = Object.entries(value as Record<string, unknown>)
			.filter(([, v]) => v !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
	}
	return JSON.stringify(value);
}

function mac(key: Buffer, text: string): string {
	return createHmac("sha256", key).update(text).digest("base64url");
}

function same(a: string, b: string): boolean {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && timingSafeEqual(x, y);
}

function entryMac(key: Buffer, e: Omit<AuditEntry, "mac" | "_id">): string {
	const { at, type, outcome, actor, subject, ip, userAgent, requestId, node, data } = e;
	return mac(
		key,
		canonical({
			chain: e.chain,
			seq: e.seq,
			prev: e.prev,
			at,
			type,
			outcome,
			actor,
			subject,
			ip,
			userAgent,
			requestId,
			node,
			data
		})
	);
}

/** The next entry of a chain after `head` (null: the chain is new). */
export function sealEntry(
	key: Buffer,
	chain: string,
	head: ChainHead | null,
	fields: AuditFields
): AuditEntry {
	const seq = (head?.seq ?? 0) + 1;
	const prev = head?.mac ?? "";
	const clean = {
		...fields,
		userAgent: fields.userAgent === null ? null : fields.userAgent.slice(0, USER_AGENT_MAX)
	};
	const unsealed = { chain, seq, prev, ...clean };
	return { _id: `${chain}:${seq}`, ...unsealed, mac: entryMac(key, unsealed) };
}

export function sealCheckpoint(
	key: Buffer,
	chain: string,
	seq: number,
	last: string,
	at: number
): AuditCheckpoint {
	return { chain, seq, mac: last, at, seal: mac(key, canonical({ chain, seq, mac: last, at })) };
}

/**
 * - `forged`: the entry's MAC does not verify: it was changed, or written by someone without the
 *   key (an insertion);
 * - `removed`: entries are missing after `after` (a gap in `seq`, or a link to another MAC);
 * - `inserted`: a `seq` that repeats or goes back;
 * - `checkpoint`: the retention checkpoint was changed.
 */
export type ChainProblem =
	| { chain: string; kind: "forged"; id: string }
	| { chain: string; kind: "removed"; after: string | null; missing: number }
	| { chain: string; kind: "inserted"; id: string }
	| { chain: string; kind: "checkpoint"; id: string };

/**
 * Walks one chain (entries in `seq` order, as stored) from its checkpoint, if any: the first
 * problem, or null when it verifies. Entries arrive through `entries` so a long chain streams.
 */
export async function verifyChain(
	key: Buffer,
	chain: string,
	checkpoint: AuditCheckpoint | null,
	entries: AsyncIterable<AuditEntry>
): Promise<ChainProblem | null> {
	if (
		checkpoint &&
		!same(
			checkpoint.seal,
			mac(
				key,
				canonical({ chain, seq: checkpoint.seq, mac: checkpoint.mac, at: checkpoint.at })
			)
		)
	) {
		return { chain, kind: "checkpoint", id: `${chain}:checkpoint` };
	}
	let head: ChainHead = checkpoint
		? { seq: checkpoint.seq, mac: checkpoint.mac }
		: { seq: 0, mac: "" };
	let last: string | null = null;
	for await (const e of entries) {
		const { _id, mac: stored, ...unsealed } = e;
		if (e.seq <= head.seq) return { chain, kind: "inserted", id: _id };
		if (e.seq > head.seq + 1) {
			return { chain, kind: "removed", after: last, missing: e.seq - head.seq - 1 };
		}
		if (!same(stored, entryMac(key, unsealed))) return { chain, kind: "forged", id: _id };
		// A genuine entry that links to another MAC: the ones between were removed and renumbered.
		if (!same(e.prev, head.mac)) return { chain, kind: "removed", after: last, missing: 0 };
		head = { seq: e.seq, mac: stored };
		last = _id;
	}
	return null;
}
