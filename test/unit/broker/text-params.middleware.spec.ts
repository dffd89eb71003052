import { illFormedTextIn, isStorableText } from "../../../lib/broker/text-params.middleware";

describe("text every store can keep", () => {
	it.each([
		["plain", true],
		["", true],
		["🔑 clé \u200f\u05e9", true],
		["\ud83d\udd11", true],
		["a\u0000b", false],
		["\ud800", false],
		["x\udc00", false],
		["\udc00\ud800", false],
		["\ud83d", false]
	])("%j is storable: %s", (value, storable) => {
		expect(isStorableText(value)).toBe(storable);
	});

	it("names the first ill-formed string by its path, in objects and arrays", () => {
		expect(illFormedTextIn({ a: "ok", b: { c: ["ok", "x\u0000"] } })).toBe("b.c[1]");
		expect(illFormedTextIn({ login: "\ud800" })).toBe("login");
		expect(illFormedTextIn({ a: 1, b: null, c: true, d: ["ok"] })).toBeNull();
		expect(illFormedTextIn("\u0000")).toBe("params");
	});

	it("names an ill-formed key by its parent, never quoting it", () => {
		expect(illFormedTextIn({ meta: { "\u0000": 1 } })).toBe("meta");
		expect(illFormedTextIn({ "\ud800": 1 })).toBe("params");
	});

	it("walks only what a caller can send, not objects with their own class", () => {
		class Request {
			self = this;
			text = "\u0000";
		}
		expect(illFormedTextIn({ req: new Request() })).toBeNull();
		expect(illFormedTextIn({ buffer: Buffer.from([0]) })).toBeNull();
	});
});
