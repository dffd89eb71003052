import { randomBytes, scryptSync } from "node:crypto";
import {
	DEFAULT_SCRYPT_PARAMS,
	assertValidParams,
	createDummyHash,
	hashPassword,
	needsRehash,
	paramsOf,
	scryptParamsFromEnv,
	verifyPassword
} from "../../../lib/auth/password";

/** Cheap parameters: these tests are about the format and the logic, not the cost. */
const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe("password hashing", () => {
	it("stores its parameters, salt and hash as scrypt$N$r$p$salt$hash", async () => {
		const hash = await hashPassword("correct horse battery", FAST);
		const [scheme, N, r, p, salt, key] = hash.split("$");
		expect(scheme).toBe("scrypt");
		expect([Number(N), Number(r), Number(p)]).toEqual([1024, 8, 1]);
		expect(Buffer.from(salt, "base64url")).toHaveLength(16);
		expect(Buffer.from(key, "base64url")).toHaveLength(32);
		expect(hash).not.toContain("correct horse battery");
		expect(paramsOf(hash)).toEqual(FAST);
	});

	it("is Node's scrypt of the password with the stored salt", async () => {
		const hash = await hashPassword("correct horse battery", FAST);
		const [, , , , salt, key] = hash.split("$");
		const expected = scryptSync(
			"correct horse battery",
			Buffer.from(salt, "base64url"),
			32,
			FAST
		);
		expect(Buffer.from(key, "base64url").equals(expected)).toBe(true);
	});

	it("salts every hash differently", async () => {
		const a = await hashPassword("same password!", FAST);
		const b = await hashPassword("same password!", FAST);
		expect(a).not.toBe(b);
	});

	it("verifies the right password and rejects others", async () => {
		const hash = await hashPassword("correct horse battery", FAST);
		await expect(verifyPassword("correct horse battery", hash)).resolves.toBe(true);
		await expect(verifyPassword("correct horse batterY", hash)).resolves.toBe(false);
		await expect(verifyPassword("", hash)).resolves.toBe(false);
	});

	it("treats differently composed but equal characters as one password", async () => {
		const composed = "caf\u00e9-password";
		const decomposed = "cafe\u0301-password";
		const hash = await hashPassword(composed, FAST);
		await expect(verifyPassword(decomposed, hash)).resolves.toBe(true);
	});

	it("verifies hashes made with other parameters than today's", async () => {
		const old = await hashPassword("an older password", { N: 2 ** 8, r: 4, p: 1 });
		await expect(verifyPassword("an older password", old)).resolves.toBe(true);
	});

	it.each([
		["empty", ""],
		["another scheme", "bcrypt$2b$10$abc"],
		["too few parts", "scrypt$1024$8$1$c2FsdA"],
		["N not a power of two", "scrypt$1000$8$1$c2FsdHNhbHRzYWx0$" + "a".repeat(43)],
		[
			"N far too big (a tampered hash)",
			"scrypt$1073741824$8$1$c2FsdHNhbHRzYWx0$" + "a".repeat(43)
		],
		["r zero", "scrypt$1024$0$1$c2FsdHNhbHRzYWx0$" + "a".repeat(43)],
		["not numbers", "scrypt$x$8$1$c2FsdHNhbHRzYWx0$" + "a".repeat(43)],
		["short key", "scrypt$1024$8$1$c2FsdHNhbHRzYWx0$YQ"]
	])("rejects a malformed stored hash (%s) without throwing", async (_label, stored) => {
		await expect(verifyPassword("whatever password", stored)).resolves.toBe(false);
		expect(needsRehash(stored)).toBe(true);
		expect(paramsOf(stored)).toBeNull();
	});

	describe("needsRehash", () => {
		it("is false for a hash with today's parameters", async () => {
			expect(needsRehash(await hashPassword("p4ssword-long", FAST), FAST)).toBe(false);
		});

		it.each([
			["N", { N: 2 ** 11, r: 8, p: 1 }],
			["r", { N: 2 ** 10, r: 9, p: 1 }],
			["p", { N: 2 ** 10, r: 8, p: 2 }]
		])("is true when %s was raised", async (_name, current) => {
			expect(needsRehash(await hashPassword("p4ssword-long", FAST), current)).toBe(true);
		});

		it("is false for a hash stronger than today's parameters", async () => {
			const strong = await hashPassword("p4ssword-long", { N: 2 ** 11, r: 8, p: 1 });
			expect(needsRehash(strong, FAST)).toBe(false);
		});

		it("defaults to OWASP's minimum, N=2^15, r=8, p=1", async () => {
			expect(DEFAULT_SCRYPT_PARAMS).toEqual({ N: 32768, r: 8, p: 1 });
			expect(needsRehash(await hashPassword("p4ssword-long", FAST))).toBe(true);
		});
	});

	it("hashes and verifies with the production parameters (N=2^15 exceeds Node's default maxmem)", async () => {
		const hash = await hashPassword("production cost", DEFAULT_SCRYPT_PARAMS);
		expect(paramsOf(hash)).toEqual(DEFAULT_SCRYPT_PARAMS);
		await expect(verifyPassword("production cost", hash)).resolves.toBe(true);
	});

	it("makes a dummy hash that no chosen password matches", async () => {
		const dummy = await createDummyHash(FAST);
		expect(paramsOf(dummy)).toEqual(FAST);
		await expect(verifyPassword("", dummy)).resolves.toBe(false);
		await expect(verifyPassword(randomBytes(18).toString("base64url"), dummy)).resolves.toBe(
			false
		);
	});

	describe("parameters", () => {
		it.each([
			[{ N: 3, r: 8, p: 1 }, /N must be a power of two/],
			[{ N: 2 ** 21, r: 8, p: 1 }, /N must be a power of two/],
			[{ N: 1024, r: 0, p: 1 }, /r must be/],
			[{ N: 1024, r: 8, p: 17 }, /p must be/]
		])("refuses %j", (params, message) => {
			expect(() => assertValidParams(params)).toThrow(message);
		});

		it("reads PASSWORD_SCRYPT_N/R/P, defaulting to OWASP's minimum", () => {
			expect(scryptParamsFromEnv({})).toEqual(DEFAULT_SCRYPT_PARAMS);
			expect(
				scryptParamsFromEnv({ PASSWORD_SCRYPT_N: "65536", PASSWORD_SCRYPT_P: "2" })
			).toEqual({ N: 65536, r: 8, p: 2 });
			expect(() => scryptParamsFromEnv({ PASSWORD_SCRYPT_N: "lots" })).toThrow(
				/PASSWORD_SCRYPT_N/
			);
			expect(() => scryptParamsFromEnv({ PASSWORD_SCRYPT_N: "1000" })).toThrow(
				/power of two/
			);
		});
	});
});
