/**
 * The service API for teams that keep their own users: auth.issueTokens, auth.validateToken,
 * auth.invalidateTokens, and auth.refresh on their sessions, on a real broker. A subject's tokens
 * never pass as a user's, nor a user's as a subject's; none of it is on the gateway.
 */
import { allRoutes } from "../../../lib/http/route-table";
import type { SessionTokens } from "../../../lib/auth/auth-types";
import type { ValidatedToken } from "../../../services/auth/service-api/service-tokens.mixin";
import { rejection } from "../../helpers/async";
import { createVerifiedAccount, signIn, startAuthStack, type AuthStack } from "../../helpers/auth";

describe("auth service API", () => {
	let stack: AuthStack;
	const call = <T>(action: string, params: object) =>
		stack.broker.call<T, object>(action, params);
	const issue = (subject: string, scopes?: string[]) =>
		call<SessionTokens>("auth.issueTokens", scopes ? { subject, scopes } : { subject });
	const validate = (token: string, subject?: string) =>
		call<ValidatedToken>("auth.validateToken", subject ? { token, subject } : { token });

	beforeAll(async () => {
		stack = await startAuthStack({ auth: { refreshReuseInterval: 0 } });
	});
	afterAll(() => stack.stop());

	it("issues a pair for a subject, and validates its access token with the subject and scopes", async () => {
		const pair = await issue("profile-42", ["read", "write"]);
		expect(pair).toMatchObject({ tokenType: "Bearer", expiresIn: expect.any(Number) });
		const valid = await validate(pair.accessToken);
		expect(valid).toMatchObject({ subject: "profile-42", scopes: ["read", "write"] });
		expect(Date.parse(valid.expiresAt)).toBeGreaterThan(Date.now());
		expect(await validate(pair.accessToken, "profile-42")).toEqual(valid);
		expect((await rejection(validate(pair.accessToken, "profile-43"))).code).toBe(401);
		// Without scopes it has none.
		expect((await validate((await issue("bare")).accessToken)).scopes).toEqual([]);
	});

	it("keeps subjects' and users' tokens apart", async () => {
		const pair = await issue("u1");
		// A subject's access token is no user's credential (the gateway asks resolveAccessToken).
		expect(
			(await rejection(call("auth.resolveAccessToken", { token: pair.accessToken }))).code
		).toBe(401);
		await createVerifiedAccount(stack, "vera");
		const user = await signIn(stack.broker, "vera", "a long enough password");
		expect((await rejection(validate(user.accessToken))).code).toBe(401);
		expect((await rejection(validate("not a token"))).code).toBe(401);
	});

	it("rotates on refresh with the same scopes, and a replayed refresh token ends the session", async () => {
		const first = await issue("rotating", ["read"]);
		const second = await call<SessionTokens>("auth.refresh", {
			refreshToken: first.refreshToken
		});
		expect(second.refreshToken).not.toBe(first.refreshToken);
		expect(await validate(second.accessToken)).toMatchObject({
			subject: "rotating",
			scopes: ["read"]
		});
		// The old refresh token again: a replay (the reuse interval is off here).
		expect(
			(await rejection(call("auth.refresh", { refreshToken: first.refreshToken }))).code
		).toBe(401);
		expect((await rejection(validate(second.accessToken))).code).toBe(401);
		expect(
			(await rejection(call("auth.refresh", { refreshToken: second.refreshToken }))).code
		).toBe(401);
	});

	it("invalidates every session of a subject and no one else's", async () => {
		const a = await issue("leaver");
		const b = await issue("leaver");
		const other = await issue("stayer");
		expect(await call("auth.invalidateTokens", { subject: "leaver" })).toEqual({
			ok: true,
			revoked: 2
		});
		for (const pair of [a, b]) {
			expect((await rejection(validate(pair.accessToken))).code).toBe(401);
			expect(
				(await rejection(call("auth.refresh", { refreshToken: pair.refreshToken }))).code
			).toBe(401);
		}
		expect(await validate(other.accessToken)).toMatchObject({ subject: "stayer" });
		expect(await call("auth.invalidateTokens", { subject: "nobody" })).toEqual({
			ok: true,
			revoked: 0
		});
	});

	it("refuses bad input with a 422 naming the field", async () => {
		for (const [params, field] of [
			[{ subject: "" }, "subject"],
			[{ subject: "a\nb" }, "subject"],
			[{ subject: "x".repeat(129) }, "subject"],
			[{ subject: "ok", scopes: ["two words"] }, "scopes[0]"],
			[{ subject: "ok", scopes: "read" }, "scopes"],
			[{ subject: "ok", extra: 1 }, "extra"]
		] as const) {
			const err = await rejection(call("auth.issueTokens", params));
			expect({ params, code: err.code }).toEqual({ params, code: 422 });
			expect(JSON.stringify(err.data)).toContain(`"field":"${field}"`);
		}
	});

	it("is public, for trusted services, and not on the gateway", () => {
		const actions = ["auth.issueTokens", "auth.validateToken", "auth.invalidateTokens"];
		for (const name of actions) {
			const endpoint = stack.broker.registry.getActionEndpoints(name)?.endpoints[0] as
				{ action?: { visibility?: string } } | undefined;
			expect(`${name}: ${endpoint?.action?.visibility}`).toBe(`${name}: public`);
		}
		expect(allRoutes().filter(r => r.action && actions.includes(r.action))).toEqual([]);
	});
});
