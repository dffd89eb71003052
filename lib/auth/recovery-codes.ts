/**
 * TOTP recovery codes: 10 single-use codes shown once at enrolment, stored as HMACs under a key of
 * the service's own (so a copy of the database alone cannot test guesses against them). 50 random
 * bits each, written `xxxxx-xxxxx` in base32 without the letters people mistake for digits.
 */
import { createHmac, randomInt } from "node:crypto";

export const RECOVERY_CODE_COUNT = 10;
/** No 0/O, 1/I/L: read off a screen or paper and typed back. */
const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
const LENGTH = 10;

export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
	return Array.from({ length: count }, () => {
		let code = "";
		for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
		return `${code.slice(0, 5)}-${code.slice(5)}`;
	});
}

/** As typed: any case, with or without the hyphen and spaces. Null when it cannot be one. */
export function normalizeRecoveryCode(input: string): string | null {
	const code = input.replace(/[\s-]/g, "").toLowerCase();
	if (code.length !== LENGTH || [...code].some(c => !ALPHABET.includes(c))) return null;
	return code;
}

export function recoveryCodeHash(key: Buffer, code: string): string {
	const normalized = normalizeRecoveryCode(code) ?? code;
	return createHmac("sha256", key).update(normalized).digest("base64url");
}
