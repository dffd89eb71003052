/**
 * Short codes a person types (the 6 digits of an e-mailed sign-in code). Six digits are far too
 * few to be a namespace of their own, so a code is only ever looked up together with its scope,
 * e.g. the address it was mailed to: what the store keeps is the HMAC of type, scope and code
 * (lib/tokens/hasher), never the code. Guessing is bounded by the caller's attempt budgets.
 */
import { randomInt } from "node:crypto";

export const MIN_CODE_DIGITS = 4;
export const MAX_CODE_DIGITS = 10;

/** A uniformly random code of `digits` decimal digits, leading zeros kept. */
export function createCode(digits: number): string {
	assertCodeDigits(digits);
	return String(randomInt(0, 10 ** digits)).padStart(digits, "0");
}

export function isWellFormedCode(code: string, digits: number): boolean {
	return code.length === digits && /^[0-9]+$/.test(code);
}

/**
 * The string whose HMAC is stored for a code. Type and scope are length-prefixed, so two different
 * (type, scope, code) never give the same string, whatever characters they hold.
 */
export function codeSecret(type: string, scope: string, code: string): string {
	return `code:${type.length}:${type}${scope.length}:${scope}${code}`;
}

export function assertCodeDigits(digits: number): void {
	if (!Number.isInteger(digits) || digits < MIN_CODE_DIGITS || digits > MAX_CODE_DIGITS) {
		throw new Error(
			`Invalid code length ${digits}: use ${MIN_CODE_DIGITS}-${MAX_CODE_DIGITS} digits`
		);
	}
}
