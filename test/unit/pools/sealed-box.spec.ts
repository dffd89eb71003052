import { createDecipheriv, hkdfSync } from "node:crypto";
import fc from "fast-check";
import { deriveKey, SealedBox, SealedBoxError } from "../../../lib/common/sealed-box";

const SECRET = "a-master-secret-of-at-least-32-characters!";

describe("SealedBox", () => {
	it("round-trips any string, with a fresh IV each time", () => {
		const box = new SealedBox(SECRET, "pools");
		fc.assert(
			fc.property(fc.string({ unit: "binary" }), fc.string(), (plaintext, context) => {
				expect(box.open(box.seal(plaintext, context), context)).toBe(plaintext);
			})
		);
		expect(box.seal("same")).not.toBe(box.seal("same"));
	});

	it("never contains the plaintext or the secret", () => {
		const box = new SealedBox(SECRET, "pools");
		const token = "mtl_abcdefghijklmnopqrstuvwxyz0123456789";
		const sealed = box.seal(token, "rec-1");
		expect(sealed).not.toContain(token);
		expect(sealed).not.toContain(token.slice(4, 20));
		expect(sealed).not.toContain(SECRET);
		expect(sealed).toMatch(/^v1\.[\w-]{8}\.[\w-]+\.[\w-]*\.[\w-]+$/);
	});

	it("is AES-256-GCM under HKDF-SHA256(secret, info)", () => {
		const sealed = new SealedBox(SECRET, "pools").seal("hello", "ctx");
		const [, , iv, ct, tag] = sealed.split(".");
		const key = Buffer.from(
			hkdfSync("sha256", SECRET, "moleculer-tokens/sealed-box/v1", "pools", 32)
		);
		expect(deriveKey(SECRET, "pools").equals(key)).toBe(true);
		const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
		decipher.setAAD(Buffer.from("ctx"));
		decipher.setAuthTag(Buffer.from(tag, "base64url"));
		const plain = Buffer.concat([
			decipher.update(Buffer.from(ct, "base64url")),
			decipher.final()
		]);
		expect(plain.toString()).toBe("hello");
	});

	it("refuses another context, another purpose, another secret", () => {
		const sealed = new SealedBox(SECRET, "pools").seal("seat-1", "record-a");
		expect(() => new SealedBox(SECRET, "pools").open(sealed, "record-b")).toThrow(
			SealedBoxError
		);
		expect(() => new SealedBox(SECRET, "links").open(sealed, "record-a")).toThrow(
			SealedBoxError
		);
		expect(() => new SealedBox(SECRET + "x", "pools").open(sealed, "record-a")).toThrow(
			/no longer configured/
		);
	});

	it("detects any tampering", () => {
		const box = new SealedBox(SECRET, "pools");
		const sealed = box.seal("seat-1", "r");
		const parts = sealed.split(".");
		for (const i of [2, 3, 4]) {
			const bytes = Buffer.from(parts[i], "base64url");
			bytes[0] ^= 1;
			const tampered = [...parts];
			tampered[i] = bytes.toString("base64url");
			expect(() => box.open(tampered.join("."), "r")).toThrow(SealedBoxError);
		}
		expect(() => box.open("v2." + parts.slice(1).join("."), "r")).toThrow(/known version/);
		expect(() => box.open("garbage", "r")).toThrow(SealedBoxError);
	});

	it("opens values sealed under a previous secret; seals with the current one", () => {
		const old = new SealedBox("old-secret-".padEnd(40, "o"), "pools");
		const sealedOld = old.seal("seat-1", "r");
		const rotated = new SealedBox(SECRET, "pools", ["old-secret-".padEnd(40, "o")]);
		expect(rotated.open(sealedOld, "r")).toBe("seat-1");
		expect(rotated.isCurrent(sealedOld)).toBe(false);
		const fresh = rotated.seal("seat-2", "r");
		expect(rotated.isCurrent(fresh)).toBe(true);
		expect(new SealedBox(SECRET, "pools").open(fresh, "r")).toBe("seat-2");
	});

	it("errors never carry the sealed value or plaintext", () => {
		const box = new SealedBox(SECRET, "pools");
		const sealed = box.seal("very-secret-seat", "r");
		try {
			box.open(sealed, "other");
			throw new Error("expected a failure");
		} catch (err) {
			expect(String((err as Error).message)).not.toContain(sealed);
			expect(String((err as Error).message)).not.toContain("very-secret-seat");
		}
	});

	it("needs a secret and a purpose", () => {
		expect(() => new SealedBox("", "pools")).toThrow(/non-empty secret/);
		expect(() => new SealedBox(SECRET, "")).toThrow(/purpose/);
	});
});
