/**
 * The address of the client behind a request, for rate limiting and logs.
 *
 * X-Forwarded-For is written by whoever sends the request, so it only means something when it was
 * appended by a proxy we trust. Like Express's "trust proxy": the socket's peer is the first hop, the
 * X-Forwarded-For entries are the next hops from right to left, and the client is the first hop that
 * is not a trusted proxy. Without TRUST_PROXY the header is ignored and the socket address is used.
 *
 * TRUST_PROXY is either a number of proxy hops in front of the gateway (e.g. `1` for one load
 * balancer), or a comma-separated list of proxy addresses and CIDR ranges
 * (e.g. `10.0.0.0/8,fd00::/8,127.0.0.1`).
 */
import { BlockList, isIP } from "node:net";

export type TrustProxy =
	{ kind: "none" } | { kind: "hops"; hops: number } | { kind: "list"; list: BlockList };

/** Longest X-Forwarded-For header we read; anything longer is cut (a client can make it huge). */
const MAX_FORWARDED_LENGTH = 2048;
/** Longest address string returned: a forged entry must not become an unbounded map key. */
const MAX_ADDRESS_LENGTH = 64;

export function parseTrustProxy(value: string | undefined): TrustProxy {
	const raw = (value ?? "").trim();
	if (raw === "" || raw === "false" || raw === "0") return { kind: "none" };
	if (/^\d+$/.test(raw)) return { kind: "hops", hops: Number(raw) };
	const list = new BlockList();
	for (const entry of raw.split(",").map(s => s.trim())) {
		if (!entry) continue;
		const [address, prefix, extra] = entry.split("/");
		const family = isIP(normalizeAddress(address));
		if (family === 0 || extra !== undefined) {
			throw new Error(`TRUST_PROXY: "${entry}" is not an IP address or CIDR range`);
		}
		const type = family === 6 ? "ipv6" : "ipv4";
		if (prefix === undefined) {
			list.addAddress(normalizeAddress(address), type);
		} else {
			const bits = Number(prefix);
			if (!/^\d+$/.test(prefix) || bits > (family === 6 ? 128 : 32)) {
				throw new Error(`TRUST_PROXY: "${entry}" has an invalid prefix length`);
			}
			list.addSubnet(normalizeAddress(address), bits, type);
		}
	}
	return { kind: "list", list };
}

/** "::ffff:10.1.2.3" (an IPv4 peer on a dual-stack socket) is 10.1.2.3; IPv6 is lower-cased. */
export function normalizeAddress(address: string): string {
	const trimmed = address.trim();
	const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
	if (mapped) return mapped[1];
	return isIP(trimmed) === 6 ? trimmed.toLowerCase() : trimmed;
}

function isTrusted(address: string, trust: TrustProxy & { kind: "list" }): boolean {
	const family = isIP(address);
	if (family === 0) return false;
	return trust.list.check(address, family === 6 ? "ipv6" : "ipv4");
}

function forwardedEntries(header: string | string[] | undefined): string[] {
	if (header === undefined) return [];
	const joined = (Array.isArray(header) ? header.join(",") : header).slice(
		0,
		MAX_FORWARDED_LENGTH
	);
	return joined
		.split(",")
		.map(s => normalizeAddress(s))
		.filter(Boolean);
}

/**
 * The client's address: the socket peer, or with trusted proxies the right-most X-Forwarded-For
 * entry that is not one of them.
 */
export function clientAddress(
	socketAddress: string | undefined,
	forwardedFor: string | string[] | undefined,
	trust: TrustProxy
): string {
	const peer = normalizeAddress(socketAddress ?? "") || "unknown";
	if (trust.kind === "none") return peer;
	// Hops from the gateway outwards: the peer, then X-Forwarded-For from right to left.
	const hops = [peer, ...forwardedEntries(forwardedFor).reverse()];
	let index = 0;
	if (trust.kind === "hops") {
		index = Math.min(trust.hops, hops.length - 1);
	} else {
		while (index < hops.length - 1 && isTrusted(hops[index], trust)) index++;
	}
	return hops[index].slice(0, MAX_ADDRESS_LENGTH);
}

/**
 * Who "one client" is, for every limit in the project (the gateway's rate limit, auth's attempt
 * limits, tokens' failed lookups): an IPv4 address, or an IPv6 /64 network. One IPv6 host usually
 * owns a whole /64, so rotating the interface id must not reset its limits.
 */
export function clientKey(address: string): string {
	if (isIP(address) !== 6) return address;
	const groups = expandIpv6(address);
	return groups ? `${groups.slice(0, 4).join(":")}::/64` : address;
}

function expandIpv6(address: string): string[] | null {
	let text = address.split("%")[0];
	// An embedded IPv4 tail ("::ffff:1.2.3.4", "64:ff9b::1.2.3.4") becomes two hex groups.
	const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
	if (v4) {
		const [a, b, c, d] = v4.slice(1).map(Number);
		text =
			text.slice(0, v4.index) +
			((a << 8) | b).toString(16) +
			":" +
			((c << 8) | d).toString(16);
	}
	const [head, tail] = text.split("::");
	const left = head ? head.split(":") : [];
	const right = tail === undefined ? [] : tail ? tail.split(":") : [];
	const missing = 8 - left.length - right.length;
	if (tail === undefined ? missing !== 0 : missing < 0) return null;
	return [...left, ...Array<string>(Math.max(missing, 0)).fill("0"), ...right].map(g =>
		(parseInt(g, 16) || 0).toString(16)
	);
}

/**
 * An address cut to its network, for showing where a session was used without keeping where the
 * user is: IPv4 to its /24 ("203.0.113.0/24"), IPv6 to its /48. Anything else: null.
 */
export function truncatedAddress(address: string | undefined): string | null {
	if (!address) return null;
	if (isIP(address) === 4) return `${address.split(".").slice(0, 3).join(".")}.0/24`;
	if (isIP(address.split("%")[0]) !== 6) return null;
	const groups = expandIpv6(address);
	return groups ? `${groups.slice(0, 3).join(":")}::/48` : null;
}
