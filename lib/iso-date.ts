/**
 * Epoch milliseconds as ISO 8601 strings, memoised. `check` answers with a token's dates on every
 * call, and `Date#toISOString` costs more than the HMAC; a token's dates repeat from call to call.
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
