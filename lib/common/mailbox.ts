/**
 * One e-mail address, parsed as exactly one mailbox: `local@domain`, nothing more.
 *
 * Addresses reach mail transports that understand the whole RFC 5322 address syntax (display
 * names, lists, comments, quoted local parts), so anything beyond a bare mailbox is refused here:
 * `a@x.example,b@y.example` would be mailed to both, `ceo<mallory@evil.example>` only to mallory,
 * and an invisible character after the address would make a second account for the same mailbox.
 *
 * Every check is linear in the input and the input is bounded before anything else runs.
 *
 * Normalisation: NFC; the domain lower-cased; the local part kept as typed, because RFC 5321 lets a
 * mail server treat its case as significant (uniqueness ignores case: see emailKeyOf).
 */
export const MAX_ADDRESS_LENGTH = 254;
export const MAX_LOCAL_LENGTH = 64;
export const MAX_DOMAIN_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/** Controls, format characters (zero-width space, BOM, bidi marks), separators and line breaks. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}]/u;
/** Characters that make an address more than one bare mailbox (lists, names, comments, quotes). */
const ADDRESS_SYNTAX = /[<>()[\]\\,;:"\s]/u;
/** RFC 5322 atext plus letters, marks and digits of any script (RFC 6531 addresses). */
const LOCAL_ATOMS =
	/^[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const LABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?$/u;
const ALL_DIGITS = /^\d+$/;

/** Ordinary spaces around an address are a typing slip; every other invisible character is refused. */
function trimSpaces(s: string): string {
	let start = 0;
	let end = s.length;
	while (start < end && s[start] === " ") start++;
	while (end > start && s[end - 1] === " ") end--;
	return s.slice(start, end);
}

/** The normalised mailbox, or null when `input` is not exactly one address. */
export function parseMailbox(input: string): string | null {
	// Checked on the raw input first: normalisation cannot turn a long string into a short one
	// by more than a small factor, but a pattern must never see an unbounded string.
	if (typeof input !== "string" || input.length === 0 || input.length > MAX_ADDRESS_LENGTH * 2) {
		return null;
	}
	const address = trimSpaces(input).normalize("NFC");
	if (address.length === 0 || address.length > MAX_ADDRESS_LENGTH) return null;
	if (INVISIBLE.test(address) || ADDRESS_SYNTAX.test(address)) return null;
	const at = address.indexOf("@");
	if (at === -1 || at !== address.lastIndexOf("@")) return null;
	const local = address.slice(0, at);
	const domain = address.slice(at + 1).toLowerCase();
	if (local.length === 0 || local.length > MAX_LOCAL_LENGTH) return null;
	if (domain.length === 0 || domain.length > MAX_DOMAIN_LENGTH) return null;
	if (!LOCAL_ATOMS.test(local)) return null;
	const labels = domain.split(".");
	// A mail domain has at least two labels and a top-level label that is not a number (no bare
	// IP addresses: those would need the bracketed literal form, which is refused above).
	if (labels.length < 2 || ALL_DIGITS.test(labels[labels.length - 1])) return null;
	for (const label of labels) {
		if (label.length === 0 || label.length > MAX_LABEL_LENGTH || !LABEL.test(label))
			return null;
	}
	return `${local}@${domain}`;
}
