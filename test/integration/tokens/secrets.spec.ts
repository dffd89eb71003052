/**
 * Secrets never leak: known tokens and salts are driven through every `tokens` path, from another
 * node (over moleculer's in-process Fake transporter, so requests are serialized and go through
 * transit) and locally, at debug log level with tracing on (the project's tracing settings, plus an
 * exporter keeping every span). No token and no salt may appear in any log line, span, error body,
 * event payload or file in the data folder.
 */
import { renameSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import TokensService from "../../../services/tokens/tokens.service";
import { type TokenEntity } from "../../../lib/tokens/token-types";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../../helpers/broker";
import { uniqueNamespace } from "../../helpers/nats";
import { LeakCapture } from "../../helpers/logs";
import { later } from "../../helpers/async";

type Generated = TokenEntity & { token: string };

const SALT = "salt-of-the-secrets-suite-0123456789-abcdefghijkl";
const PREVIOUS_SALT = "previous-salt-of-the-secrets-suite-0123456789-xyz";

describe("tokens: secrets never leak", () => {
	const saved = { ...process.env };
	let dataDir: string;
	let tokensNode: ServiceBroker;
	let callerNode: ServiceBroker;
	const captured = new LeakCapture(2, () => dataDir);
	const { logs, spans, events, errorBodies } = captured;
	const tokens: string[] = [];
	let tokensStopped = false;

	const options = (i: number, nodeID: string, namespace: string) =>
		captured.nodeOptions(i, { nodeID, namespace });
	const failure = (promise: Promise<unknown>) => captured.failure(promise);

	beforeAll(async () => {
		process.env.TOKEN_SALT = SALT;
		process.env.TOKEN_SALT_PREVIOUS = PREVIOUS_SALT;
		dataDir = tempDataDir();
		const namespace = uniqueNamespace("secrets");
		tokensNode = createTestBroker(options(0, "tokens-node", namespace));
		tokensNode.createService(withSettings(TokensService, { dataDir }));
		callerNode = createTestBroker(options(1, "caller-node", namespace));
		captured.recordEvents(callerNode);
		await Promise.all([tokensNode.start(), callerNode.start()]);
		await callerNode.waitForServices(["tokens"], 10_000);
	});

	afterAll(async () => {
		await Promise.all([callerNode?.stop(), tokensStopped ? null : tokensNode?.stop()]);
		removeDir(dataDir);
		process.env = { ...saved };
	});

	it("drives every path with known tokens", async () => {
		for (const broker of [callerNode, tokensNode]) {
			const generate = async (type: string, owner: string, extra: object = {}) => {
				const g = await broker.call<Generated, object>("tokens.generate", {
					type,
					owner,
					...extra
				});
				tokens.push(g.token);
				return g;
			};
			const key = await generate("api-key", "owner-a", { name: "k", scopes: ["read"] });
			const link = await generate("verification", "owner-a", { data: { next: "/home" } });
			const reset = await generate("password-reset", "owner-b");
			const short = await generate("passwordless", "owner-c", { expiry: 1 });

			// check: valid, with isUsed (and its buffered write), wrong owner, wrong type, made up.
			expect(
				await broker.call("tokens.check", { type: "api-key", token: key.token })
			).toMatchObject({ id: key.id });
			await broker.call("tokens.check", {
				type: "api-key",
				token: key.token,
				owner: "owner-a",
				isUsed: true
			});
			await (
				tokensNode.getLocalService("tokens") as unknown as {
					touches: { flush(): Promise<void> };
				}
			).touches.flush();
			expect(
				await broker.call("tokens.check", {
					type: "api-key",
					token: key.token,
					owner: "owner-x"
				})
			).toBeNull();
			expect(
				await broker.call("tokens.check", { type: "refresh", token: key.token })
			).toBeNull();
			expect(
				await broker.call("tokens.check", {
					type: "api-key",
					token: key.token.slice(0, -1) + (key.token.endsWith("A") ? "B" : "A")
				})
			).toBeNull();

			// consume (twice), remove (twice), list, revoke, remove by owner, stats, cleanup.
			for (const [action, type, made] of [
				["tokens.consume", "verification", link],
				["tokens.remove", "password-reset", reset]
			] as const) {
				const once = () => broker.call(action, { type, token: made.token });
				expect(await once()).toMatchObject({ id: made.id });
				expect(await once()).toBeNull();
			}
			await broker.call("tokens.listByOwner", { owner: "owner-a" });
			expect(
				await broker.call("tokens.revoke", { id: key.id, owner: "owner-a" })
			).toMatchObject({ id: key.id });
			await generate("refresh", "owner-d");
			expect(await broker.call("tokens.removeByOwner", { owner: "owner-d" })).toEqual({
				removed: 1
			});
			await broker.call("tokens.stats");
			await later(5000, async () => {
				expect(await broker.call("tokens.removeExpired", {})).toEqual({ removed: 1 });
				expect(
					await broker.call("tokens.check", { type: "passwordless", token: short.token })
				).toBeNull();
			});

			// Validation errors with a token in a wrong-typed field, or in the wrong place.
			const t = (await generate("api-key", "owner-e")).token;
			const bad: [string, object][] = [
				["tokens.check", { type: "api-key", token: [t] }],
				["tokens.check", { type: "api-key", token: { t } }],
				["tokens.check", { type: "api-key", token: t, owner: { t } }],
				["tokens.check", { type: "api-key", token: t, isUsed: t }],
				["tokens.check", { type: t, token: t }],
				["tokens.check", { type: "api-key", token: t.repeat(20) }],
				["tokens.consume", { type: "api-key", token: 42, owner: [t] }],
				["tokens.remove", { type: "api-key", token: t, extra: t }],
				["tokens.generate", { type: "api-key", owner: t, expiry: t }],
				["tokens.generate", { type: "api-key", owner: "o", scopes: t, name: [t] }],
				["tokens.generate", { type: "api-key", owner: "o", data: { [`a.${t}`]: t } }],
				["tokens.listByOwner", { owner: [t], type: t }],
				["tokens.removeByOwner", { owner: { t } }],
				["tokens.revoke", { id: [t], owner: t.repeat(10) }],
				["tokens.removeExpired", { batchSize: t }],
				["tokens.stats", { token: t }]
			];
			for (const [action, params] of bad) {
				expect((await failure(broker.call(action, params))).code).toBe(422);
			}

			// A store failure on the way.
			const file = join(dataDir, "tokens.db");
			renameSync(file, `${file}.real`);
			symlinkSync("/dev/full", file);
			try {
				expect((await failure(generate("api-key", "owner-f"))).code).toBe(503);
				expect(
					(await failure(broker.call("tokens.consume", { type: "api-key", token: t })))
						.code
				).toBe(503);
			} finally {
				unlinkSync(file);
				renameSync(`${file}.real`, file);
			}
		}
		// Stopping flushes the last-use buffer: the data file is complete for the checks below.
		await tokensNode.stop();
		tokensStopped = true;
	});

	it("the captures saw every path (so a leak would show)", () => {
		for (const log of logs) expect(log.lines.length).toBeGreaterThan(50);
		expect(logs.map(l => l.text()).join("\n")).toMatch(/tokens\.consume failed: .*ENOSPC/);
		const spanNames = spans.flatMap(s => s.spans.map(span => span.name));
		for (const action of [
			"generate",
			"check",
			"consume",
			"remove",
			"listByOwner",
			"removeByOwner",
			"revoke",
			"stats",
			"removeExpired"
		]) {
			expect(spanNames).toContain(`action 'tokens.${action}'`);
		}
		expect(events.map(e => e.name)).toEqual(
			expect.arrayContaining([
				"tokens.created",
				"tokens.consumed",
				"tokens.removed",
				"tokens.expiredCleared"
			])
		);
		expect(errorBodies.length).toBe(2 * 18);
		expect(tokens.length).toBe(2 * 6);
	});

	const secrets = () => [
		...tokens,
		// The random part alone, too: a prefix-less or re-encoded copy is still a leak.
		...tokens.map(t => t.slice(4, 34)),
		SALT,
		PREVIOUS_SALT
	];

	it.each(captured.places())("no token and no salt in any %s", (_what, text) => {
		const haystack = text();
		expect(haystack.length).toBeGreaterThan(0);
		for (const secret of secrets()) expect(haystack).not.toContain(secret);
	});
});
