import fc from "fast-check";
import * as addresses from "../../../lib/http/client-address";

describe("parseTrustProxy", () => {
	it("trusts nobody by default", () => {
		for (const value of [undefined, "", "  ", "0", "false"]) {
			expect(addresses.parseTrustProxy(value)).toEqual({ kind: "none" });
		}
	});

	it("reads a number of hops", () => {
		expect(addresses.parseTrustProxy("2")).toEqual({ kind: "hops", hops: 2 });
	});

	it("reads addresses and CIDR ranges, and rejects anything else", () => {
		expect(addresses.parseTrustProxy("10.0.0.0/8, 127.0.0.1,fd00::/8").kind).toBe("list");
		expect(() => addresses.parseTrustProxy("10.0.0.0/8,proxy.local")).toThrow(/proxy\.local/);
		expect(() => addresses.parseTrustProxy("10.0.0.0/33")).toThrow(/prefix/);
		expect(() => addresses.parseTrustProxy("10.0.0.0/8/1")).toThrow();
		expect(() => addresses.parseTrustProxy("true")).toThrow();
	});
});

describe("clientAddress", () => {
	const none = addresses.parseTrustProxy("");

	it("uses the socket address and ignores X-Forwarded-For when no proxy is trusted", () => {
		expect(addresses.clientAddress("203.0.113.9", "1.2.3.4", none)).toBe("203.0.113.9");
		expect(addresses.clientAddress("::ffff:203.0.113.9", undefined, none)).toBe("203.0.113.9");
		expect(addresses.clientAddress(undefined, "1.2.3.4", none)).toBe("unknown");
	});

	it("with one trusted hop takes the right-most entry, whatever the client prepended", () => {
		const one = addresses.parseTrustProxy("1");
		expect(addresses.clientAddress("10.0.0.2", "198.51.100.7", one)).toBe("198.51.100.7");
		// The client forged "1.1.1.1"; the load balancer appended the real address.
		expect(addresses.clientAddress("10.0.0.2", "1.1.1.1, 198.51.100.7", one)).toBe(
			"198.51.100.7"
		);
		expect(addresses.clientAddress("10.0.0.2", ["1.1.1.1", "198.51.100.7"], one)).toBe(
			"198.51.100.7"
		);
		// No header: the peer itself is the client.
		expect(addresses.clientAddress("10.0.0.2", undefined, one)).toBe("10.0.0.2");
	});

	it("with two hops skips two proxies, and never walks past the left-most entry", () => {
		const two = addresses.parseTrustProxy("2");
		expect(addresses.clientAddress("10.0.0.2", "9.9.9.9, 198.51.100.7, 10.0.0.3", two)).toBe(
			"198.51.100.7"
		);
		expect(
			addresses.clientAddress("10.0.0.2", "198.51.100.7", addresses.parseTrustProxy("5"))
		).toBe("198.51.100.7");
	});

	it("with a list takes the right-most address that is not a trusted proxy", () => {
		const list = addresses.parseTrustProxy("10.0.0.0/8,fd00::/8");
		expect(addresses.clientAddress("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.1.1.1", list)).toBe(
			"198.51.100.7"
		);
		expect(addresses.clientAddress("fd00::1", "2001:db8::5", list)).toBe("2001:db8::5");
		// A peer that is not a trusted proxy is the client: its header is ignored.
		expect(addresses.clientAddress("203.0.113.9", "1.2.3.4", list)).toBe("203.0.113.9");
		// Everything trusted: the left-most entry is the best we know.
		expect(addresses.clientAddress("10.0.0.2", "10.0.0.9", list)).toBe("10.0.0.9");
	});

	it("cannot be steered by a forged header without trusted proxies (property)", () => {
		fc.assert(
			fc.property(fc.ipV4(), fc.array(fc.oneof(fc.ipV4(), fc.string())), (peer, forged) => {
				expect(addresses.clientAddress(peer, forged.join(","), none)).toBe(peer);
			})
		);
	});

	it("with one trusted hop returns the last header entry whatever comes before it (property)", () => {
		const one = addresses.parseTrustProxy("1");
		fc.assert(
			fc.property(fc.array(fc.ipV4(), { maxLength: 10 }), fc.ipV4(), (forged, real) => {
				const header = [...forged, real].join(", ");
				expect(addresses.clientAddress("10.0.0.2", header, one)).toBe(real);
			})
		);
	});

	it("bounds what a huge forged header can produce", () => {
		const address = addresses.clientAddress(
			"10.0.0.2",
			"x".repeat(10_000),
			addresses.parseTrustProxy("1")
		);
		expect(address.length).toBeLessThanOrEqual(64);
	});
});

describe("normalizeAddress and clientKey", () => {
	it("unwraps IPv4-mapped IPv6 and lower-cases IPv6", () => {
		expect(addresses.normalizeAddress("::FFFF:192.0.2.1")).toBe("192.0.2.1");
		expect(addresses.normalizeAddress("2001:DB8::1")).toBe("2001:db8::1");
	});

	it("counts IPv4 per address and IPv6 per /64", () => {
		expect(addresses.clientKey("192.0.2.1")).toBe("192.0.2.1");
		expect(addresses.clientKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
		expect(addresses.clientKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
		expect(addresses.clientKey("::1")).toBe("0:0:0:0::/64");
		expect(addresses.clientKey("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0::/64");
		expect(addresses.clientKey("unknown")).toBe("unknown");
	});
});

describe("truncatedAddress", () => {
	it("keeps an IPv4 address's /24 and an IPv6 address's /48, nothing finer", () => {
		expect(addresses.truncatedAddress("203.0.113.77")).toBe("203.0.113.0/24");
		expect(addresses.truncatedAddress("2001:db8:abcd:12:1:2:3:4")).toBe("2001:db8:abcd::/48");
		expect(addresses.truncatedAddress("2001:db8::1")).toBe("2001:db8:0::/48");
		expect(addresses.truncatedAddress("fe80::1%eth0")).toBe("fe80:0:0::/48");
	});

	it("gives null for no address or something that is not one", () => {
		expect(addresses.truncatedAddress(undefined)).toBeNull();
		expect(addresses.truncatedAddress("")).toBeNull();
		expect(addresses.truncatedAddress("not an address")).toBeNull();
	});

	it("never keeps the host part of any IPv4 address", () => {
		fc.assert(
			fc.property(fc.ipV4(), ip => {
				const cut = addresses.truncatedAddress(ip)!;
				expect(cut.endsWith(".0/24")).toBe(true);
				expect(cut.split(".").slice(0, 3)).toEqual(ip.split(".").slice(0, 3));
			})
		);
	});
});
