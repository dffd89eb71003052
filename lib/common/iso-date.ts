/**
 * Epoch milliseconds as ISO 8601 strings, memoised. `check` answers with a token's dates on every
 * call (and `auth` with a user's on every gateway request), `Date#toISOString` costs more than the
 * HMAC, and the same dates come back call after call.
 * The memo is bounded: it is emptied when full, so it never grows past MAX_ENTRIES.
 */
const MAX_ENTRIES = 100_000;
let memo = new Map<number, string>();

export function isoDate(ms: number): string {
	let iso = memo.get(ms);
	if (iso === undefined) {
		if (memo.size >= MAX_ENTRIES) memo = new Map();
		iso = new Date(ms).toISOString();
		memo.set(ms, iso);
	}
	return iso;
}
