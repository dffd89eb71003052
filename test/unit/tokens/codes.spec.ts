import { codeSecret, createCode, isWellFormedCode } from "../../../lib/tokens/codes";

describe("codes", () => {
	it("are the given number of decimal digits, leading zeros kept, every digit used", () => {
		const codes = Array.from({ length: 2000 }, () => createCode(6));
		for (const c of codes) expect(isWellFormedCode(c, 6)).toBe(true);
		// Each position takes every digit over 2,000 draws (a fixed or biased generator would not).
		for (let i = 0; i < 6; i++) {
			expect(new Set(codes.map(c => c[i])).size).toBe(10);
		}
		expect(new Set(codes).size).toBeGreaterThan(1990);
		expect(() => createCode(3)).toThrow(/4-10 digits/);
		expect(() => createCode(11)).toThrow(/4-10 digits/);
	});

	it("refuses anything but exactly the digits", () => {
		for (const bad of ["12345", "1234567", "12345a", " 12345", "１２３４５６", "-12345"]) {
			expect(isWellFormedCode(bad, 6)).toBe(false);
		}
		expect(isWellFormedCode("000000", 6)).toBe(true);
	});

	it("bind a code to its type and scope in the secret that is hashed", () => {
		const a = codeSecret("email-code", "ada@example.com", "123456");
		expect(a).not.toBe(codeSecret("email-code", "bob@example.com", "123456"));
		expect(a).not.toBe(codeSecret("other", "ada@example.com", "123456"));
		// No splitting trick makes two different triples one secret.
		expect(codeSecret("t", "a\u0000b", "1")).not.toBe(codeSecret("t", "a", "b\u00001"));
	});
});
