import { createHmac } from "node:crypto";
import { TokenHasher } from "../../../lib/tokens/hasher";

describe("TokenHasher", () => {
	it("hashes with HMAC-SHA256 under the current salt", () => {
		const hasher = new TokenHasher("salt-one");
		const expected = createHmac("sha256", "salt-one").update("mtk_abc").digest("base64url");
		expect(hasher.hash("mtk_abc")).toBe(expected);
		expect(hasher.hash("mtk_abc")).not.toContain("mtk_abc");
	});

	it("gives different hashes under different salts", () => {
		expect(new TokenHasher("a").hash("t")).not.toBe(new TokenHasher("b").hash("t"));
	});

	it("offers the current salt's hash first, then previous salts'", () => {
		const hasher = new TokenHasher("new", ["old", "older"]);
		expect(hasher.candidates("t")).toEqual([
			new TokenHasher("new").hash("t"),
			new TokenHasher("old").hash("t"),
			new TokenHasher("older").hash("t")
		]);
	});

	it("drops empty and repeated salts", () => {
		const hasher = new TokenHasher("s", ["", "s", "p", "p"]);
		expect(hasher.saltCount).toBe(2);
	});

	it("refuses an empty salt", () => {
		expect(() => new TokenHasher("")).toThrow(/non-empty salt/);
	});
});
