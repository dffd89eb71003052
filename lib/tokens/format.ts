/**
 * Token strings in the style of GitHub's token format: `<prefix>_<random><checksum>`.
 *
 * - the prefix names the token type, so a leaked token is recognisable (and secret scanners can match it);
 * - 30 base62 characters of randomness carry 178 bits, above the 160-bit floor we promise;
 * - a 6-character base62 CRC32 of prefix and randomness lets us reject a mistyped or made-up
 *   token before any HMAC or database work.
 */
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const RANDOM_LENGTH = 30;
export const CHECKSUM_LENGTH = 6;
/** The longest token string any action looks at: no token of ours is near it. */
export const MAX_TOKEN_LENGTH = 512;

/** The parameter rule of a token string in `tokens`, `links` and `pools`. */
export const TOKEN_PARAM = { type: "string", max: MAX_TOKEN_LENGTH } as const;

export const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,9}$/;
const BODY_PATTERN = /^[0-9A-Za-z]+$/;
/** 62 * 4: bytes at or above it are dropped so every character is equally likely. */
const UNBIASED_LIMIT = 248;

/** Bits of randomness in a token: RANDOM_LENGTH * log2(62). */
export const RANDOM_BITS = Math.floor(RANDOM_LENGTH * Math.log2(62));

export function assertValidPrefix(prefix: string): void {
	if (!PREFIX_PATTERN.test(prefix)) {
		throw new Error(
			`Invalid token prefix "${prefix}": use 2-10 lowercase letters or digits, starting with a letter`
		);
	}
}

function randomBase62(length: number): string {
	let out = "";
	while (out.length < length) {
		const bytes = randomBytes(length * 2);
		for (let i = 0; i < bytes.length && out.length < length; i++) {
			if (bytes[i] < UNBIASED_LIMIT) out += ALPHABET[bytes[i] % 62];
		}
	}
	return out;
}

function base62Fixed(value: number, length: number): string {
	let out = "";
	for (let i = 0; i < length; i++) {
		out = ALPHABET[value % 62] + out;
		value = Math.floor(value / 62);
	}
	return out;
}

function checksumOf(prefix: string, random: string): string {
	return base62Fixed(crc32(`${prefix}_${random}`), CHECKSUM_LENGTH);
}

/** Creates a new token string for the given prefix. */
export function createToken(prefix: string): string {
	const random = randomBase62(RANDOM_LENGTH);
	return `${prefix}_${random}${checksumOf(prefix, random)}`;
}

/**
 * True when `token` has the shape of a token made by `createToken(prefix)` and its checksum matches.
 * Cheap: a length test, a prefix comparison, a character class test and one CRC32.
 */
export function isWellFormedToken(token: string, prefix: string): boolean {
	const bodyStart = prefix.length + 1;
	if (token.length !== bodyStart + RANDOM_LENGTH + CHECKSUM_LENGTH) return false;
	if (!token.startsWith(prefix) || token.charCodeAt(prefix.length) !== 95 /* "_" */) return false;
	const body = token.slice(bodyStart);
	if (!BODY_PATTERN.test(body)) return false;
	const random = body.slice(0, RANDOM_LENGTH);
	return body.slice(RANDOM_LENGTH) === checksumOf(prefix, random);
}
