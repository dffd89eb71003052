/**
 * The `auth` service when its embedded store cannot write (users.db or refresh_families.db pointed at
 * /dev/full, test/helpers/disk-full): writes answer a retryable 503 STORE_UNAVAILABLE without the
 * cause, the cause goes to the log, and a failed write changes nothing, in memory either.
 */
import type { AuthUser, SignInResult } from "../../../services/auth/auth.service";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import { createVerifiedAccount, signIn, startAuthStack, type AuthStack } from "../../helpers/auth";
import { DiskFull, expectStoreUnavailable, rejection } from "../../helpers/disk-full";
import { CapturingLogger } from "../../helpers/logs";
import { expectRefused } from "../../helpers/async";

describe("auth when the embedded store cannot write", () => {
	let stack: AuthStack;
	let logs: CapturingLogger;
	let disks: DiskFull[];

	beforeEach(async () => {
		logs = new CapturingLogger();
		stack = await startAuthStack({ broker: { logger: logs, logLevel: "info" } });
		disks = [];
	});

	afterEach(async () => {
		for (const disk of disks) disk.stop();
		await stack.stop();
	});

	const full = (file: string) => {
		const disk = new DiskFull(stack.dataDir, file);
		disks.push(disk);
		disk.start();
		return disk;
	};

	it("users: a failed sign-up leaves no account behind; a failed scope change changes nothing", async () => {
		const account = await createVerifiedAccount(stack, "ada");
		const session = await signIn(stack.broker, "ada", account.password);
		const users = full("users.db");

		const signUp = { username: "grace", email: "grace@example.com", password: "p".repeat(12) };
		expectStoreUnavailable(
			await rejection(stack.broker.call("auth.signUp", signUp)),
			stack.dataDir
		);
		expectStoreUnavailable(
			await rejection(
				stack.broker.call("auth.setUserScopes", { userId: account.id, scopes: ["admin"] })
			),
			stack.dataDir
		);
		expect(logs.text()).toMatch(/auth\.signUp failed: .*ENOSPC/);
		const resolve = () =>
			stack.broker.call<{ user: AuthUser }, object>("auth.resolveAccessToken", {
				token: session.accessToken
			});
		expect((await resolve()).user.scopes).toEqual([]);

		users.stop();
		// Without the rollback NeDB's memory kept the account the file never got: 409 here.
		await expect(stack.broker.call("auth.signUp", signUp)).resolves.toMatchObject({
			user: { username: "grace" }
		});
		await stack.broker.call("auth.setUserScopes", { userId: account.id, scopes: ["admin"] });
		expect((await resolve()).user.scopes).toEqual(["admin"]);
	});

	it("refresh families: a sign-in whose family the file did not take answers 503 and leaves no live refresh token", async () => {
		const account = await createVerifiedAccount(stack, "lin");
		const before = await signIn(stack.broker, "lin", account.password);
		const families = full("refresh_families.db");

		expectStoreUnavailable(
			await rejection(signIn(stack.broker, "lin", account.password)),
			stack.dataDir
		);
		// Rotation writes the family too: refused. The presented token was spent before that write,
		// so the session ends (fails closed): no refresh token of it works afterwards.
		const refresh = (token: string) =>
			stack.broker.call<SignInResult, object>("auth.refresh", { refreshToken: token });
		expectStoreUnavailable(await rejection(refresh(before.refreshToken)), stack.dataDir);
		expect(logs.text()).toMatch(/auth\.(signIn|refresh) failed: .*ENOSPC/);
		const live = await stack.broker.call<TokenEntity[], object>("tokens.listByOwner", {
			owner: account.id,
			type: "refresh"
		});
		// The failed sign-in's refresh token was revoked: at most the first session's family holds one.
		const familyOf = (t: TokenEntity) => (t.data as { family?: string }).family;
		expect(new Set(live.map(familyOf)).size).toBeLessThanOrEqual(1);

		families.stop();
		await expectRefused(refresh(before.refreshToken), 401);
		const after = await signIn(stack.broker, "lin", account.password);
		await expect(refresh(after.refreshToken)).resolves.toMatchObject({ tokenType: "Bearer" });
	});
});
