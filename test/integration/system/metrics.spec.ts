/**
 * The project's metrics through moleculer's Prometheus reporter (METRICS_PORT): a scripted
 * workload on tokens, auth and mail, then one scrape of /metrics whose numbers must be what was
 * done, and whose labels carry no token, owner, user id or address.
 */
import { createToken } from "../../../lib/tokens/format";
import { metricsOptions } from "../../../lib/broker/observability";
import { startAuthStack, type AuthStack } from "../../helpers/auth";
import { freePort } from "../../helpers/process";
import { rejection } from "../../helpers/async";

describe("Prometheus metrics", () => {
	let stack: AuthStack;
	let port: number;
	const secrets: string[] = [];

	beforeAll(async () => {
		port = await freePort();
		stack = await startAuthStack({
			auth: { requireVerifiedEmail: false },
			broker: {
				metrics: metricsOptions({ METRICS_PORT: String(port), METRICS_HOST: "127.0.0.1" })
			}
		});
	});
	afterAll(() => stack?.stop());

	/** The scrape's value of `name` with these labels (others ignored), or 0. */
	function valueIn(scrape: string, name: string, labels: Record<string, string>): number {
		let total = 0;
		for (const line of scrape.split("\n")) {
			if (!line.startsWith(`${name}{`)) continue;
			const matches = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
			if (matches) total += Number(line.slice(line.lastIndexOf(" ") + 1));
		}
		return total;
	}

	it("lists the counters alerts watch at 0 before their first event", async () => {
		const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
		for (const [name, label, value] of [
			["mtk_auth_refreshes_total", "result", "reused"],
			["mtk_mail_queue_total", "outcome", "dead"],
			["mtk_mail_total", "result", "failed"]
		]) {
			const line = scrape
				.split("\n")
				.find(l => l.startsWith(`${name}{`) && l.includes(`${label}="${value}"`));
			expect([name, value, line?.slice(line.lastIndexOf(" ") + 1)]).toEqual([
				name,
				value,
				"0"
			]);
		}
	});

	it("counts what a scripted workload did", async () => {
		const call = <T>(action: string, params: object) =>
			stack.broker.call<T, object>(action, params);
		const gen = (owner: string) =>
			call<{ token: string }>("tokens.generate", { type: "verification", owner });
		const a = await gen("owner-one");
		const b = await gen("owner-one");
		secrets.push(a.token, b.token, "owner-one");
		for (let i = 0; i < 3; i++)
			await call("tokens.check", { type: "verification", token: a.token });
		for (let i = 0; i < 2; i++) {
			await call("tokens.check", { type: "verification", token: createToken("mtv") });
		}
		await call("tokens.check", { type: "verification", token: "garbage" });
		await call("tokens.check", { type: "verification", token: a.token, owner: "owner-two" });
		await call("tokens.consume", { type: "verification", token: b.token });
		await call("tokens.consume", { type: "verification", token: b.token });
		const code = await call<{ code: string }>("tokens.generateCode", {
			type: "email-code",
			owner: "owner-three",
			scope: "scope-three"
		});
		secrets.push(code.code);

		const { user } = await call<{ user: { id: string } }>("auth.signUp", {
			username: "mia",
			email: "mia@example.com",
			password: "a long enough password"
		});
		secrets.push(user.id, "mia@example.com");
		await stack.smtp.waitFor(m => m.to.includes("mia@example.com"));
		const signIn = (password: string) =>
			call<{ refreshToken: string }>("auth.signIn", { login: "mia", password });
		const first = await signIn("a long enough password");
		await signIn("a long enough password");
		expect((await rejection(signIn("the wrong password"))).code).toBe(401);
		const next = await call<{ refreshToken: string }>("auth.refresh", {
			refreshToken: first.refreshToken
		});
		secrets.push(first.refreshToken, next.refreshToken);

		const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
		const ops = (operation: string, type: string, result: string) =>
			valueIn(scrape, "mtk_tokens_operations_total", { operation, type, result });
		expect({
			checkValid: ops("check", "verification", "valid"),
			checkNotFound: ops("check", "verification", "not_found"),
			checkMalformed: ops("check", "verification", "malformed"),
			checkWrongOwner: ops("check", "verification", "wrong_owner"),
			consumeValid: ops("consume", "verification", "valid"),
			consumeNotFound: ops("consume", "verification", "not_found"),
			// Two by hand, one for the sign-up mail's link; two sign-ins and one rotation.
			generatedVerification: ops("generate", "verification", "created"),
			generatedRefresh: ops("generate", "refresh", "created"),
			generatedCodes: ops("generate_code", "email-code", "created"),
			signInSuccess: valueIn(scrape, "mtk_auth_sign_ins_total", {
				method: "password",
				result: "success"
			}),
			signInInvalid: valueIn(scrape, "mtk_auth_sign_ins_total", {
				method: "password",
				result: "invalid"
			}),
			rotated: valueIn(scrape, "mtk_auth_refreshes_total", { result: "rotated" }),
			mailsSent: valueIn(scrape, "mtk_mail_total", { result: "sent" })
		}).toEqual({
			checkValid: 3,
			checkNotFound: 2,
			checkMalformed: 1,
			checkWrongOwner: 1,
			consumeValid: 1,
			consumeNotFound: 1,
			generatedVerification: 3,
			generatedRefresh: 3,
			// One by hand, one in the sign-up mail beside its link.
			generatedCodes: 2,
			signInSuccess: 2,
			signInInvalid: 1,
			rotated: 1,
			mailsSent: 1
		});
		// moleculer's own request metrics are there too.
		expect(scrape).toMatch(/^moleculer_request_total\{/m);
		for (const secret of secrets) expect(scrape).not.toContain(secret);
		// The command line may carry secrets: not published (moleculer's process_arguments).
		expect(scrape).not.toMatch(/^process_arguments/m);
	});
});
