import * as status from "../../../lib/auth/admin/account-status";

describe("account status", () => {
	const NOW = 1_700_000_000_000;

	it("a lock holds from its start until its end, or until unlocked when it has none", () => {
		expect(status.isLocked({}, NOW)).toBe(false);
		expect(status.isLocked({ lockedAt: null, lockedUntil: null }, NOW)).toBe(false);
		expect(status.isLocked({ lockedAt: NOW - 1, lockedUntil: null }, NOW)).toBe(true);
		expect(status.isLocked({ lockedAt: NOW - 1, lockedUntil: NOW + 1 }, NOW)).toBe(true);
		expect(status.isLocked({ lockedAt: NOW - 1, lockedUntil: NOW }, NOW)).toBe(false);
	});

	it("is locked before anything else, else active once the address is confirmed", () => {
		expect(status.statusOf({ emailVerified: true, lockedAt: NOW }, NOW)).toBe("locked");
		expect(status.statusOf({ emailVerified: false, lockedAt: NOW }, NOW)).toBe("locked");
		expect(status.statusOf({ emailVerified: true }, NOW)).toBe("active");
		expect(status.statusOf({ emailVerified: false, lockedAt: 1, lockedUntil: 2 }, NOW)).toBe(
			"unconfirmed"
		);
	});

	it("reads the admin role from the admin scope and sets it there, keeping other scopes", () => {
		expect(status.rolesOf({ scopes: ["read"] })).toEqual(["user"]);
		expect(status.rolesOf({ scopes: ["read", "admin"] })).toEqual(["user", "admin"]);
		expect(status.scopesWithRoles(["read"], ["user", "admin"])).toEqual(["read", "admin"]);
		expect(status.scopesWithRoles(["admin", "read", "admin"], ["user"])).toEqual(["read"]);
		expect(status.scopesWithRoles(["admin"], ["admin"])).toEqual(["admin"]);
	});

	it("compares search prefixes in lower case without surrounding space; blank is none", () => {
		expect(status.searchPrefix("  Ada@EXAMPLE ")).toBe("ada@example");
		expect(status.searchPrefix("   ")).toBeUndefined();
		expect(status.searchPrefix(null)).toBeUndefined();
		expect(status.searchPrefix(undefined)).toBeUndefined();
	});
});
