/**
 * The REPL's operator commands (lib/broker/repl-commands.ts) against a real `tokens` service, called from a
 * separate node-less caller as an operator's REPL node would (same broker here; over NATS in
 * test/e2e/cluster-processes.spec.ts).
 */
import type { ServiceBroker } from "moleculer";
import AuditService from "../../../services/audit.service";
import { authService } from "../../helpers/auth";
import TokensService from "../../../services/tokens/tokens.service";
import { type TokenEntity } from "../../../lib/tokens/token-types";
import * as repl from "../../../lib/broker/repl-commands";
import { removeDir, startService, tempDataDir, withSettings } from "../../helpers/broker";

describe("formatTable and positiveInteger", () => {
	it("aligns columns under a rule", () => {
		expect(
			repl.formatTable([
				["type", "live"],
				["api-key", "3"],
				["refresh", "12"]
			])
		).toEqual(["type     live", "-------  ----", "api-key  3", "refresh  12"]);
	});

	it("reads a positive whole number or names the option", () => {
		expect(repl.positiveInteger(undefined, "batch-size")).toBeUndefined();
		expect(repl.positiveInteger("500", "batch-size")).toBe(500);
		for (const bad of ["0", "-1", "1.5", "x", ""]) {
			expect(() => repl.positiveInteger(bad, "batch-size")).toThrow("--batch-size");
		}
	});
});

describe("REPL commands", () => {
	let dataDir: string;
	let broker: ServiceBroker;
	let printed: string[];
	const print = (line: string) => printed.push(line);

	beforeEach(async () => {
		dataDir = tempDataDir();
		printed = [];
		broker = await startService(TokensService, { dataDir });
	});

	afterEach(async () => {
		await broker.stop();
		removeDir(dataDir);
	});

	const generate = (params: Record<string, unknown>) =>
		broker.call<TokenEntity & { token: string }, Record<string, unknown>>(
			"tokens.generate",
			params
		);

	/** Runs `fn` with Date.now moved `ms` into the future. */
	async function later<T>(ms: number, fn: () => Promise<T>): Promise<T> {
		const realNow = Date.now;
		const shifted = realNow() + ms;
		Date.now = () => shifted;
		try {
			return await fn();
		} finally {
			Date.now = realNow;
		}
	}

	it("tokens-stats counts live and expired tokens by type", async () => {
		expect(await repl.tokensStats(broker, print)).toEqual({});
		expect(printed).toEqual(["No tokens."]);

		await generate({ type: "api-key", owner: "a" });
		await generate({ type: "api-key", owner: "b" });
		await generate({ type: "verification", owner: "a", expiry: 60 });
		printed = [];
		const counts = await later(120_000, () => repl.tokensStats(broker, print));
		expect(counts).toEqual({
			"api-key": { live: 2, expired: 0 },
			verification: { live: 0, expired: 1 }
		});
		expect(printed).toEqual([
			"type          live  expired",
			"------------  ----  -------",
			"api-key       2     0",
			"verification  0     1",
			"(all)         2     1"
		]);
	});

	it("tokens-cleanup removes expired tokens now, and only those", async () => {
		await generate({ type: "passwordless", owner: "a", expiry: 60 });
		await generate({ type: "passwordless", owner: "a", expiry: 60 });
		const kept = await generate({ type: "api-key", owner: "a" });
		const result = await later(120_000, () =>
			repl.tokensCleanup(broker, { batchSize: 1 }, print)
		);
		expect(result).toEqual({ removed: 2 });
		expect(printed).toEqual(["Removed 2 expired token(s)."]);
		const left = await broker.call<TokenEntity[], object>("tokens.listByOwner", {
			owner: "a"
		});
		expect(left.map(t => t.id)).toEqual([kept.id]);
	});

	it("tokens-list shows an owner's tokens without the tokens themselves", async () => {
		const key = await generate({
			type: "api-key",
			owner: "carol",
			name: "ci",
			scopes: ["read"]
		});
		await generate({ type: "refresh", owner: "carol" });
		const rows = await repl.tokensList(broker, { owner: "carol", type: "api-key" }, print);
		expect(rows).toHaveLength(1);
		expect(printed[0]).toMatch(/^id\s+type\s+name\s+scopes\s+expires\s+last used$/);
		expect(printed[2]).toContain(key.id);
		expect(printed[2]).toMatch(/api-key\s+ci\s+read\s+never\s+never/);
		expect(printed.join("\n")).not.toContain(key.token);

		printed = [];
		await repl.tokensList(broker, { owner: "nobody" }, print);
		expect(printed).toEqual(["nobody has no tokens."]);
	});

	it("tokens-revoke only reports without --yes, and removes with it", async () => {
		await generate({ type: "api-key", owner: "dave" });
		await generate({ type: "refresh", owner: "dave" });
		await generate({ type: "refresh", owner: "dave" });

		expect(await repl.tokensRevoke(broker, { owner: "dave", type: "refresh" }, print)).toEqual({
			removed: 0,
			dryRun: true
		});
		expect(printed).toEqual([
			"Would remove 2 refresh token(s) of dave. Run again with --yes to remove them."
		]);
		expect(await broker.call("tokens.listByOwner", { owner: "dave" })).toHaveLength(3);

		printed = [];
		expect(
			await repl.tokensRevoke(broker, { owner: "dave", type: "refresh", yes: true }, print)
		).toEqual({ removed: 2, dryRun: false });
		expect(printed).toEqual(["Removed 2 refresh token(s) of dave."]);
		await repl.tokensRevoke(broker, { owner: "dave", yes: true }, print);
		expect(await broker.call("tokens.listByOwner", { owner: "dave" })).toEqual([]);
	});

	describe("as moleculer-repl custom commands", () => {
		type Action = (broker: ServiceBroker, args: unknown) => Promise<void>;
		const command = (name: string) => {
			const found = repl.replCommands.find(c => c.command.split(" ")[0] === name);
			if (!found) throw new Error(`no ${name} command`);
			return found.action as unknown as Action;
		};
		let log: jest.SpyInstance;

		beforeEach(() => {
			log = jest.spyOn(console, "log").mockImplementation(() => undefined);
		});

		afterEach(() => log.mockRestore());

		const output = () => log.mock.calls.map(c => String(c[0]));

		it("keys-rotate adds a signing key and shows each key's state", async () => {
			broker.createService(authService()(dataDir));
			await broker.waitForServices(["auth"]);
			await command("keys-rotate")(broker, { options: { delay: "60" } });
			const lines = output();
			expect(lines[0]).toMatch(/^Key \S+ added; it signs from \d{4}-/);
			expect(lines.filter(l => / current /.test(l))).toHaveLength(1);
			expect(lines.filter(l => / next /.test(l))).toHaveLength(1);
		});

		it("declares the eleven commands with their arguments", () => {
			expect(repl.replCommands.map(c => c.command)).toEqual([
				"tokens-stats",
				"tokens-cleanup",
				"tokens-list <owner>",
				"tokens-revoke <owner>",
				"passkeys-list <login>",
				"audit-verify",
				"keys-rotate",
				"users-find [prefix]",
				"users-lock <login> <reason...>",
				"users-unlock <login>",
				"users-grant-admin <login>"
			]);
		});

		it("passkeys-list names a user without passkeys, and an unknown login as one line", async () => {
			broker.createService(authService()(dataDir));
			await broker.waitForServices(["auth"]);
			await broker.call("auth.signUp", {
				username: "nokeys",
				email: "nokeys@example.com",
				password: "long enough password"
			});
			await command("passkeys-list")(broker, { login: "nokeys", options: {} });
			await command("passkeys-list")(broker, { login: "nobody", options: {} });
			expect(output()).toEqual(["nokeys has no passkeys.", "Failed: No such user."]);
		});

		it("passes parsed REPL arguments to the handlers", async () => {
			await generate({ type: "refresh", owner: "erin" });
			await command("tokens-revoke")(broker, {
				owner: "erin",
				options: { type: "refresh", yes: true }
			});
			expect(output()).toEqual(["Removed 1 refresh token(s) of erin."]);
		});

		it("users-grant-admin, users-find, users-lock and users-unlock act on a user and land in the audit trail as system", async () => {
			broker.createService(authService({ requireVerifiedEmail: false })(dataDir));
			broker.createService(withSettings(AuditService, { dataDir }));
			await broker.waitForServices(["auth", "audit"]);
			const { user } = await broker.call<{ user: { id: string } }, object>("auth.signUp", {
				username: "Opal",
				email: "opal@example.com",
				password: "long enough password"
			});
			await command("users-grant-admin")(broker, { login: "opal", options: {} });
			await command("users-find")(broker, { prefix: "OP", options: {} });
			await command("users-lock")(broker, {
				login: "opal@example.com",
				reason: ["too", "many", "chargebacks"],
				options: {}
			});
			await command("users-find")(broker, { options: { status: "locked" } });
			await command("users-unlock")(broker, { login: "opal", options: {} });
			await command("users-lock")(broker, { login: "nobody", reason: ["x"], options: {} });
			const lines = output();
			expect(lines[0]).toBe(
				"Opal is an administrator (they need TOTP or a passkey to use it)."
			);
			expect(lines[1]).toMatch(/^id +username +email +status +roles +last sign-in$/);
			expect(lines[3]).toMatch(/ Opal +opal@example\.com +unconfirmed +user,admin +never$/);
			expect(lines[4]).toBe("Locked Opal; 0 session(s) ended.");
			expect(lines[7]).toMatch(/ locked /);
			expect(lines.slice(8)).toEqual(["Unlocked Opal.", "Failed: No user nobody"]);
			const { entries } = await broker.call<
				{ entries: { type: string; actor: string; data: object }[] },
				object
			>("audit.list", { user: user.id });
			expect(
				entries.filter(e => e.type.startsWith("admin.")).map(e => [e.type, e.actor])
			).toEqual([
				["admin.userUnlocked", "system"],
				["admin.userLocked", "system"],
				["admin.rolesChanged", "system"]
			]);
			expect(entries.find(e => e.type === "admin.userLocked")!.data).toEqual({
				reason: "too many chargebacks",
				until: null
			});
		});

		it("prints a failure as one line, naming the field, instead of throwing", async () => {
			await command("tokens-list")(broker, { owner: "erin", options: { type: "bogus" } });
			expect(output()).toHaveLength(1);
			expect(output()[0]).toMatch(/^Failed: Parameters validation error!.*'type'/);
			log.mockClear();
			await command("tokens-cleanup")(broker, { options: { batchSize: "0" } });
			expect(output()).toEqual(["Failed: --batch-size must be a positive whole number"]);
		});
	});
});
