import {
	isLocked,
	rolesOf,
	scopesWithRoles,
	searchPrefix,
	statusOf
} from "../../../lib/auth/admin/account-status";

describe("account status", () => {
	const NOW = 1_700_000_000_000;

	it("a lock holds from its start until its end, or until unlocked when it has none", () => {
		expect(isLocked({}, NOW)).toBe(false);
		expect(isLocked({ lockedAt: null, lockedUntil: null }, NOW)).toBe(false);
		expect(isLocked({ lockedAt: NOW - 1, lockedUntil: null }, NOW)).toBe(true);
		expect(isLocked({ lockedAt: NOW - 1, lockedUntil: NOW + 1 }, NOW)).toBe(true);
		expect(isLocked({ lockedAt: NOW - 1, lockedUntil: NOW }, NOW)).toBe(false);
	});

	it("is locked before anything else, else active once the address is confirmed", () => {
		expect(statusOf({ emailVerified: true, lockedAt: NOW }, NOW)).toBe("locked");
		expect(statusOf({ emailVerified: false, lockedAt: NOW }, NOW)).toBe("locked");
		expect(statusOf({ emailVerified: true }, NOW)).toBe("active");
		expect(statusOf({ emailVerified: false, lockedAt: 1, lockedUntil: 2 }, NOW)).toBe(
			"unconfirmed"
		);
	});

	it("reads the admin role from the admin scope and sets it there, keeping other scopes", () => {
		expect(rolesOf({ scopes: ["read"] })).toEqual(["user"]);
		expect(rolesOf({ scopes: ["read", "admin"] })).toEqual(["user", "admin"]);
		expect(scopesWithRoles(["read"], ["user", "admin"])).toEqual(["read", "admin"]);
		expect(scopesWithRoles(["admin", "read", "admin"], ["user"])).toEqual(["read"]);
		expect(scopesWithRoles(["admin"], ["admin"])).toEqual(["admin"]);
	});

	it("compares search prefixes in lower case without surrounding space; blank is none", () => {
		expect(searchPrefix("  Ada@EXAMPLE ")).toBe("ada@example");
		expect(searchPrefix("   ")).toBeUndefined();
		expect(searchPrefix(null)).toBeUndefined();
		expect(searchPrefix(undefined)).toBeUndefined();
	});
});
