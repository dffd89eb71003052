/**
 * TOTP (RFC 6238) on HOTP (RFC 4226) with Node's crypto: 30-second steps, 6 digits, HMAC-SHA-1
 * (what authenticator apps take from an otpauth:// URI). Base32 (RFC 4648) for the secret as
 * people and apps exchange it.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps either side of the current one that are accepted: the previous and the next. */
export const TOTP_WINDOW = 1;
/** 160 bits, RFC 4226's recommended secret length for HMAC-SHA-1. */
export const TOTP_SECRET_BYTES = 20;

export type TotpAlgorithm = "sha1" | "sha256" | "sha512";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Encode(bytes: Buffer): string {
	let bits = 0;
	let value = 0;
	let out = "";
	for (const byte of bytes) {
		value = (value << 8) | byte;
		bits += 8;
		while (bits >= 5) {
			out += BASE32[(value >>> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
	return out;
}

export function base32Decode(text: string): Buffer {
	const clean = text.replace(/[\s=-]/g, "").toUpperCase();
	const bytes: number[] = [];
	let bits = 0;
	let value = 0;
	for (const char of clean) {
		const index = BASE32.indexOf(char);
		if (index < 0) throw new Error("Not a base32 string");
		value = (value << 5) | index;
		bits += 5;
		if (bits >= 8) {
			bytes.push((value >>> (bits - 8)) & 255);
			bits -= 8;
		}
	}
	return Buffer.from(bytes);
}

export function newTotpSecret(): Buffer {
	return randomBytes(TOTP_SECRET_BYTES);
}

/** A code's length and HMAC (RFC 6238 also allows SHA-256 and SHA-512); apps use the defaults. */
export interface CodeFormat {
	digits?: number;
	algorithm?: TotpAlgorithm;
}

/** RFC 4226 §5.3: the HOTP value of `counter`, `digits` long. */
export function hotp(secret: Buffer, counter: number, format: CodeFormat = {}): string {
	const { digits = TOTP_DIGITS, algorithm = "sha1" } = format;
	const message = Buffer.alloc(8);
	message.writeBigUInt64BE(BigInt(counter));
	const mac = createHmac(algorithm, secret).update(message).digest();
	const offset = mac[mac.length - 1] & 0x0f;
	const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
	return String(binary).padStart(digits, "0");
}

/** The time step of `epochMs` (RFC 6238 §4.2, T0 = 0). */
export function totpStep(epochMs: number): number {
	return Math.floor(epochMs / 1000 / TOTP_STEP_SECONDS);
}

/** RFC 6238: the TOTP value at `epochMs`. */
export function totp(secret: Buffer, epochMs: number, format: CodeFormat = {}): string {
	return hotp(secret, totpStep(epochMs), format);
}

/**
 * The step whose code `code` is, among the previous, current and next step at `epochMs`; null when
 * none. Every candidate is compared (in constant time), so the answer's time says nothing.
 */
export function matchingStep(secret: Buffer, code: string, epochMs: number): number | null {
	if (!/^[0-9]{6}$/.test(code)) return null;
	const given = Buffer.from(code);
	const current = totpStep(epochMs);
	let found: number | null = null;
	for (let step = current - TOTP_WINDOW; step <= current + TOTP_WINDOW; step++) {
		if (timingSafeEqual(Buffer.from(hotp(secret, step)), given) && found === null) found = step;
	}
	return found;
}

/** The otpauth:// URI authenticator apps read (Google Authenticator's key-uri format). */
export function otpauthUri(issuer: string, account: string, secret: Buffer): string {
	const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
	const query = new URLSearchParams({
		secret: base32Encode(secret),
		issuer,
		algorithm: "SHA1",
		digits: String(TOTP_DIGITS),
		period: String(TOTP_STEP_SECONDS)
	});
	return `otpauth://totp/${label}?${query.toString()}`;
}
