/**
 * Password hashing with scrypt (Node's crypto). A hash carries its own parameters,
 * `scrypt$N$r$p$salt$hash` (salt and hash base64url), so the cost can be raised later: old hashes
 * keep verifying, and `needsRehash` says when to re-hash one at the next successful sign-in.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

export interface ScryptParams {
	/** CPU/memory cost, a power of two. */
	N: number;
	/** Block size. */
	r: number;
	/** Parallelisation. */
	p: number;
}

/** OWASP's minimum for scrypt (Password Storage Cheat Sheet): N=2^15, r=8, p=1 (32 MiB). */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({
	N: 2 ** 15,
	r: 8,
	p: 1
});

export const SALT_BYTES = 16;
export const KEY_BYTES = 32;

/**
 * Bounds on parameters, for configuration and for hashes read back from the store: a tampered hash
 * must not make one sign-in allocate gigabytes or run for minutes.
 */
const MIN_LOG2_N = 1;
const MAX_LOG2_N = 20;
const MAX_R = 32;
const MAX_P = 16;

interface ParsedHash {
	params: ScryptParams;
	salt: Buffer;
	key: Buffer;
}

function deriveKey(
	password: string,
	salt: Buffer,
	keyLength: number,
	params: ScryptParams
): Promise<Buffer> {
	const options: ScryptOptions = {
		N: params.N,
		r: params.r,
		p: params.p,
		// scrypt needs 128·N·r bytes; Node's default limit (32 MiB) is exactly OWASP's minimum, which
		// it refuses, so allow twice that.
		maxmem: 256 * params.N * params.r + 1024 * 1024
	};
	return new Promise((resolve, reject) =>
		scrypt(normalizePassword(password), salt, keyLength, options, (err, key) =>
			err ? reject(err) : resolve(key)
		)
	);
}

/** One password, one byte sequence: the same characters typed on another keyboard may compose differently. */
function normalizePassword(password: string): string {
	return password.normalize("NFKC");
}

export function assertValidParams(params: ScryptParams, source = "scrypt parameters"): void {
	const { N, r, p } = params;
	const log2N = Math.log2(N);
	if (!Number.isInteger(log2N) || log2N < MIN_LOG2_N || log2N > MAX_LOG2_N) {
		throw new Error(`${source}: N must be a power of two between 2 and 2^${MAX_LOG2_N}`);
	}
	if (!Number.isInteger(r) || r < 1 || r > MAX_R) {
		throw new Error(`${source}: r must be a whole number between 1 and ${MAX_R}`);
	}
	if (!Number.isInteger(p) || p < 1 || p > MAX_P) {
		throw new Error(`${source}: p must be a whole number between 1 and ${MAX_P}`);
	}
}

export async function hashPassword(
	password: string,
	params: ScryptParams = DEFAULT_SCRYPT_PARAMS
): Promise<string> {
	assertValidParams(params);
	const salt = randomBytes(SALT_BYTES);
	const key = await deriveKey(password, salt, KEY_BYTES, params);
	return [
		"scrypt",
		params.N,
		params.r,
		params.p,
		salt.toString("base64url"),
		key.toString("base64url")
	].join("$");
}

function parseHash(stored: string): ParsedHash | null {
	const parts = stored.split("$");
	if (parts.length !== 6 || parts[0] !== "scrypt") return null;
	const [N, r, p] = parts.slice(1, 4).map(s => (/^\d{1,8}$/.test(s) ? Number(s) : NaN));
	const params = { N, r, p };
	try {
		assertValidParams(params);
	} catch {
		return null;
	}
	const salt = Buffer.from(parts[4], "base64url");
	const key = Buffer.from(parts[5], "base64url");
	if (salt.length < 8 || key.length < 16 || key.length > 64) return null;
	return { params, salt, key };
}

/** Whether `password` matches `stored`; false for a malformed hash. Compares in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
	const parsed = parseHash(stored);
	if (!parsed) return false;
	const key = await deriveKey(password, parsed.salt, parsed.key.length, parsed.params);
	return timingSafeEqual(key, parsed.key);
}

/** Whether `stored` was made with weaker parameters than `current` (or cannot be read at all). */
export function needsRehash(
	stored: string,
	current: ScryptParams = DEFAULT_SCRYPT_PARAMS
): boolean {
	const parsed = parseHash(stored);
	if (!parsed) return true;
	const { N, r, p } = parsed.params;
	return N < current.N || r < current.r || p < current.p || parsed.key.length < KEY_BYTES;
}

/** The parameters a hash was made with, or null when it is not one of ours. */
export function paramsOf(stored: string): ScryptParams | null {
	return parseHash(stored)?.params ?? null;
}

/**
 * A hash of a random password with the current parameters. Verifying against it when an account
 * does not exist costs the same as a wrong password for an account that does, so response times do
 * not tell which accounts exist.
 */
export function createDummyHash(params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
	return hashPassword(randomBytes(18).toString("base64url"), params);
}

/**
 * scrypt parameters from the environment: PASSWORD_SCRYPT_N (a power of two, e.g. 32768),
 * PASSWORD_SCRYPT_R and PASSWORD_SCRYPT_P, each defaulting to OWASP's minimum.
 */
export function scryptParamsFromEnv(env: NodeJS.ProcessEnv): ScryptParams {
	const read = (name: string, fallback: number): number => {
		const raw = env[name];
		if (raw === undefined || raw === "") return fallback;
		if (!/^\d+$/.test(raw.trim())) throw new Error(`${name} must be a whole number`);
		return Number(raw.trim());
	};
	const params = {
		N: read("PASSWORD_SCRYPT_N", DEFAULT_SCRYPT_PARAMS.N),
		r: read("PASSWORD_SCRYPT_R", DEFAULT_SCRYPT_PARAMS.r),
		p: read("PASSWORD_SCRYPT_P", DEFAULT_SCRYPT_PARAMS.p)
	};
	assertValidParams(params, "PASSWORD_SCRYPT_N/R/P");
	return params;
}
