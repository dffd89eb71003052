import {
	base32Decode,
	base32Encode,
	hotp,
	matchingStep,
	otpauthUri,
	totp,
	totpStep
} from "../../../lib/auth/totp";
import {
	newRecoveryCodes,
	normalizeRecoveryCode,
	recoveryCodeHash
} from "../../../lib/auth/recovery-codes";

// RFC 6238 Appendix B: the seeds, and the 8-digit codes at each time.
const SEEDS = {
	sha1: Buffer.from("12345678901234567890"),
	sha256: Buffer.from("12345678901234567890123456789012"),
	sha512: Buffer.from("1234567890123456789012345678901234567890123456789012345678901234")
};
const VECTORS: [number, string, string, string][] = [
	[59, "94287082", "46119246", "90693936"],
	[1111111109, "07081804", "68084774", "25091201"],
	[1111111111, "14050471", "67062674", "99943326"],
	[1234567890, "89005924", "91819424", "93441116"],
	[2000000000, "69279037", "90698825", "38618901"],
	[20000000000, "65353130", "77737706", "47863826"]
];

describe("TOTP (RFC 6238)", () => {
	it.each(VECTORS)("matches the RFC's test vectors at T=%i", (seconds, sha1, sha256, sha512) => {
		expect(totp(SEEDS.sha1, seconds * 1000, { digits: 8, algorithm: "sha1" })).toBe(sha1);
		expect(totp(SEEDS.sha256, seconds * 1000, { digits: 8, algorithm: "sha256" })).toBe(sha256);
		expect(totp(SEEDS.sha512, seconds * 1000, { digits: 8, algorithm: "sha512" })).toBe(sha512);
	});

	it("matches RFC 4226's HOTP values", () => {
		const expected = ["755224", "287082", "359152", "969429", "338314"];
		expect(expected.map((_, i) => hotp(SEEDS.sha1, i))).toEqual(expected);
	});

	it("accepts the previous, current and next step only, and names the step", () => {
		const now = 1_700_000_000_000;
		const step = totpStep(now);
		for (const offset of [-1, 0, 1]) {
			expect(matchingStep(SEEDS.sha1, hotp(SEEDS.sha1, step + offset), now)).toBe(
				step + offset
			);
		}
		for (const offset of [-3, -2, 2, 3]) {
			const code = hotp(SEEDS.sha1, step + offset);
			// A code of a farther step could equal a near one's by chance: only then may it match.
			const near = [-1, 0, 1].some(o => hotp(SEEDS.sha1, step + o) === code);
			expect(matchingStep(SEEDS.sha1, code, now) !== null).toBe(near);
		}
		expect(matchingStep(SEEDS.sha1, "12345", now)).toBeNull();
		expect(matchingStep(SEEDS.sha1, "abcdef", now)).toBeNull();
	});

	it("round-trips base32 and writes the otpauth URI apps read", () => {
		expect(base32Encode(Buffer.from("foobar"))).toBe("MZXW6YTBOI");
		expect(base32Decode("MZXW6YTBOI").toString()).toBe("foobar");
		expect(base32Decode("mzxw 6ytb-oi").toString()).toBe("foobar");
		expect(() => base32Decode("not*base32")).toThrow();
		const uri = new URL(otpauthUri("Acme Tokens", "ada@example.com", SEEDS.sha1));
		expect(uri.protocol).toBe("otpauth:");
		expect(uri.host).toBe("totp");
		expect(decodeURIComponent(uri.pathname)).toBe("/Acme Tokens:ada@example.com");
		expect(uri.searchParams.get("secret")).toBe(base32Encode(SEEDS.sha1));
		expect(uri.searchParams.get("period")).toBe("30");
	});
});

describe("recovery codes", () => {
	it("are 10 distinct codes of 50 bits, typed back in any case or spacing", () => {
		const codes = newRecoveryCodes();
		expect(codes).toHaveLength(10);
		expect(new Set(codes).size).toBe(10);
		for (const c of codes) expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
		const [first] = codes;
		expect(normalizeRecoveryCode(` ${first.toUpperCase().replace("-", " ")} `)).toBe(
			first.replace("-", "")
		);
		expect(normalizeRecoveryCode("short")).toBeNull();
		expect(normalizeRecoveryCode("0000000000")).toBeNull();
	});

	it("are stored as keyed hashes that ignore how they were typed", () => {
		const key = Buffer.alloc(32, 7);
		const [code] = newRecoveryCodes(1);
		const hash = recoveryCodeHash(key, code);
		expect(hash).not.toContain(code.replace("-", ""));
		expect(recoveryCodeHash(key, code.toUpperCase().replace("-", ""))).toBe(hash);
		expect(recoveryCodeHash(Buffer.alloc(32, 8), code)).not.toBe(hash);
	});
});
