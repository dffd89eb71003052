/**
 * Property-based tests of every action of `auth`, `mail`, `links` and `pools` on a real broker
 * (tokens.* has its own, stricter suite). The actions and their parameter names come from the
 * registry, so a new action is covered without editing this file. For any JSON value in any
 * parameter, extra keys, or no object at all, signed in or not, an action answers normally or with a
 * client error (4xx: 401, 403, 404, 409, 422, 423, 429…): never a 5xx, never an error moleculer does
 * not know. The stack keeps working afterwards.
 */
import fc from "fast-check";
import { Errors, type ServiceBroker } from "moleculer";
import LinksService from "../../../services/links.service";
import PoolsService from "../../../services/pools.service";
import { withSettings } from "../../helpers/broker";
import { createVerifiedAccount, signIn, startAuthStack, type AuthStack } from "../../helpers/auth";
import { anyKeyWith, anyValue, maybeField, paramsOf } from "../../helpers/arbitraries";

/** Runs per action; PROPERTY_RUNS=2000 for a longer hunt. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 60);
const SERVICES = ["auth", "mail", "links", "pools"];

const anyKey = anyKeyWith(12, [
	"__proto__",
	"constructor",
	"$where",
	"$set",
	"a.b",
	"id",
	"_id",
	"hash"
]);

function paramsFor(keys: string[], strings: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
	const known = keys.map(key =>
		maybeField(
			key,
			fc.oneof({ weight: 2, arbitrary: strings }, { weight: 3, arbitrary: anyValue }),
			3
		)
	);
	return paramsOf(known, anyKey, 4);
}

describe("auth, mail, links and pools actions, property-based", () => {
	let stack: AuthStack;
	let broker: ServiceBroker;
	let user: { id: string; username: string; scopes: string[]; via: string };
	const actions: { name: string; keys: string[] }[] = [];

	beforeAll(async () => {
		stack = await startAuthStack({
			broker: { logger: false }
		});
		broker = stack.broker;
		broker.createService(
			withSettings(LinksService, { dataDir: stack.dataDir, allowedActions: ["probe.echo"] })
		);
		broker.createService(withSettings(PoolsService, { dataDir: stack.dataDir }));
		broker.createService({
			name: "probe",
			actions: { echo: { visibility: "public", handler: ctx => ({ echoed: ctx.params }) } }
		});
		await broker.waitForServices(["links", "pools", "probe"]);
		await createVerifiedAccount(stack, "fuzzer");
		// The signed-in caller of the fuzzed calls is another account: wrong passwords sent to
		// changePassword and deleteAccount lock that one's budget, not the one signed in afterwards.
		const caller = await createVerifiedAccount(stack, "fuzzed");
		user = { id: caller.id, username: caller.username, scopes: [], via: "jwt" };
		for (const item of broker.registry.getActionList({ onlyLocal: true, skipInternal: true })) {
			const name = item.name as string;
			if (!SERVICES.includes(name.split(".")[0])) continue;
			const params = (item.action as { params?: Record<string, unknown> }).params ?? {};
			actions.push({ name, keys: Object.keys(params).filter(k => !k.startsWith("$$")) });
		}
	});

	afterAll(() => stack?.stop());

	it("covers every action of those services", () => {
		const names = actions.map(a => a.name);
		for (const expected of [
			"auth.signUp",
			"auth.signIn",
			"auth.refresh",
			"auth.createApiKey",
			"mail.send",
			"links.create",
			"links.redeem",
			"pools.assign",
			"pools.keepAlive"
		]) {
			expect(names).toContain(expected);
		}
	});

	it("every action answers normally or with a 4xx, never a 5xx", async () => {
		const strings = fc.oneof(
			fc.string({ maxLength: 40 }),
			fc.constantFrom("fuzzer", "fuzzer@example.com", "probe.echo", "pool-a", "mtk_x", "")
		);
		for (const { name, keys } of actions) {
			await fc.assert(
				fc.asyncProperty(
					paramsFor(keys, strings),
					fc.boolean(),
					async (params, signedIn) => {
						try {
							await broker.call(name, params as object, {
								meta: signedIn ? { user, ip: "203.0.113.9" } : { ip: "203.0.113.8" }
							});
						} catch (err) {
							const code = (err as Errors.MoleculerError).code;
							if (
								!(err instanceof Errors.MoleculerError) ||
								!(code >= 400 && code < 500)
							) {
								throw new Error(
									`${name} failed with ${(err as Error).name} ${String(code)}: ${(err as Error).message}`
								);
							}
						}
					}
				),
				{ numRuns: RUNS }
			);
		}
	}, 120_000);

	it("the stack works afterwards: sign-in and a link round trip", async () => {
		const session = await signIn(broker, "fuzzer", "a long enough password");
		expect(session).toHaveProperty("accessToken");
		const link = await broker.call<{ token: string }, object>("links.create", {
			owner: "fuzzer",
			action: "probe.echo",
			params: { ok: true }
		});
		expect(await broker.call("links.redeem", { token: link.token })).toMatchObject({
			action: "probe.echo",
			result: { echoed: { ok: true } }
		});
	});
});
