/**
 * Property-based tests of every `tokens.*` action's parameters on a real broker and store: for any
 * JSON value in any parameter, any extra keys (including "__proto__" and "$"-prefixed ones), or no
 * object at all, an action answers either normally or with a 422 ValidationError. Never a 500, a
 * crash or a half-written record; and the node keeps working afterwards.
 */
import fc from "fast-check";
import { Errors, type ServiceBroker } from "moleculer";
import TokensService from "../../../services/tokens/tokens.service";
import { type TokenEntity } from "../../../lib/tokens/token-types";
import { removeDir, startService, tempDataDir } from "../../helpers/broker";
import { tokenCalls } from "../../helpers/tokens";
import { anyKeyWith, anyValue, maybeField, paramsOf } from "../../helpers/arbitraries";

/** Runs per action; PROPERTY_RUNS=5000 for a longer hunt. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const TYPES = ["verification", "passwordless", "password-reset", "api-key", "refresh", "action"];

type Generated = TokenEntity & { token: string };

/** Keys an attacker would try besides random ones. */
const anyKey = anyKeyWith(12, [
	"__proto__",
	"constructor",
	"prototype",
	"toString",
	"$$strict",
	"$where",
	"$set",
	"a.b",
	"",
	"id",
	"_id",
	"hash"
]);

/** Objects as JSON.parse makes them: "__proto__" is an own key, not the prototype. */
const anyObject = fc
	.array(fc.tuple(anyKey, anyValue), { maxLength: 5 })
	.map(entries => Object.fromEntries(entries));

/**
 * Parameters for an action: each known key absent, valid, or any JSON value; plus extra keys
 * sometimes; or, now and then, not an object at all.
 */
function paramsFor(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
	const known = Object.entries(fields).map(([key, valid]) =>
		maybeField(
			key,
			fc.oneof(
				{ weight: 3, arbitrary: valid },
				{ weight: 2, arbitrary: anyValue },
				{ weight: 1, arbitrary: anyObject }
			),
			4
		)
	);
	return paramsOf(known, anyKey, 3);
}

describe("tokens.* parameters, property-based", () => {
	let dataDir: string;
	let broker: ServiceBroker;
	/** Real tokens, so valid-looking inputs reach the store paths too. */
	const known: Generated[] = [];

	const type = fc.constantFrom(...TYPES);
	const owner = fc.oneof(
		fc.constantFrom("alice", "bob"),
		fc.string({ minLength: 1, maxLength: 20 })
	);
	const token = fc.oneof(
		fc.constantFrom("your-token-value", `mtk_${"A".repeat(36)}`),
		fc.integer({ min: 0, max: 19 }).map(i => known[i].token),
		fc.string({ maxLength: 60 })
	);
	const id = fc.oneof(
		fc.integer({ min: 0, max: 19 }).map(i => known[i].id),
		fc.string({ minLength: 1, maxLength: 40 })
	);

	const actions: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
		"tokens.generate": {
			type,
			owner,
			expiry: fc.integer({ min: 1, max: 10 * 365 * 86400 }),
			name: fc.string({ minLength: 1, maxLength: 30 }),
			scopes: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { maxLength: 4 }),
			data: anyObject
		},
		"tokens.check": { type, token, owner, isUsed: fc.boolean() },
		"tokens.remove": { type, token },
		"tokens.consume": { type, token, owner },
		"tokens.listByOwner": { owner, type },
		"tokens.removeByOwner": { owner, type },
		"tokens.revoke": { id, owner },
		"tokens.stats": {},
		"tokens.removeExpired": { batchSize: fc.integer({ min: 1, max: 100000 }) }
	};

	beforeAll(async () => {
		dataDir = tempDataDir();
		broker = await startService(TokensService, { dataDir });
		for (let i = 0; i < 20; i++) {
			known.push(
				await broker.call<Generated, object>("tokens.generate", {
					type: "api-key",
					owner: i % 2 ? "alice" : "bob"
				})
			);
		}
	});

	afterAll(async () => {
		await broker.stop();
		removeDir(dataDir);
	});

	it.each(Object.keys(actions))(
		"%s answers normally or with a 422, never a 500",
		async action => {
			await fc.assert(
				fc.asyncProperty(paramsFor(actions[action]), async params => {
					try {
						await broker.call(action, params as object);
					} catch (err) {
						// A failure must be a validation error naming fields, nothing else.
						expect(err).toBeInstanceOf(Errors.ValidationError);
						expect((err as Errors.ValidationError).code).toBe(422);
						const data = (err as Errors.ValidationError).data as { field?: unknown }[];
						expect(Array.isArray(data) && data.length > 0).toBe(true);
					}
				}),
				{ numRuns: RUNS }
			);
		},
		60_000
	);

	describe("what these properties found", () => {
		it.each([
			["a key with a dot", { "a.b": 1 }],
			["a $-key", { nested: [{ $where: "1" }] }],
			["a __proto__ key", JSON.parse('{"__proto__": {"admin": true}}')],
			["nesting deeper than 16 levels", JSON.parse("[".repeat(40) + "]".repeat(40))]
		])(
			"generate refuses data with %s (422), and a concurrent generate is not hurt",
			async (_, data) => {
				const [bad, good] = await Promise.allSettled([
					broker.call("tokens.generate", { type: "action", owner: "d", data: { data } }),
					broker.call<Generated, object>("tokens.generate", {
						type: "action",
						owner: "d"
					})
				]);
				expect(bad.status).toBe("rejected");
				const err = (bad as PromiseRejectedResult).reason as Errors.ValidationError;
				expect(err).toMatchObject({ code: 422, data: [{ field: "data" }] });
				expect(good.status).toBe("fulfilled");
			}
		);

		it("removeExpired with null params runs with the default batch size", async () => {
			expect(await broker.call("tokens.removeExpired", null as unknown as object)).toEqual({
				removed: 0
			});
		});
	});

	it("the node is healthy afterwards: generate, check and consume work, the file reloads", async () => {
		const tokens = tokenCalls(() => broker);
		const g = await tokens.generate("verification", "after");
		expect(await tokens.check("verification", g.token)).toMatchObject({ id: g.id });
		expect(await tokens.consume("verification", g.token)).toMatchObject({ id: g.id });
		const kept = await tokens.generate("api-key", "after");

		await broker.stop();
		broker = await startService(TokensService, { dataDir });
		expect(
			await broker.call("tokens.check", { type: "api-key", token: kept.token })
		).toMatchObject({ id: kept.id });
	});
});
