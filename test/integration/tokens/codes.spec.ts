/**
 * Codes in `tokens`: generateCode and consumeCode on a real broker and the embedded store. A code is
 * found only with its scope, spent once, replaced by the owner's next code, and never stored.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import TokensService from "../../../services/tokens/tokens.service";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import { removeDir, startService, tempDataDir } from "../../helpers/broker";
import { rejection } from "../../helpers/async";

type Code = TokenEntity & { code: string };

describe("tokens codes", () => {
	let dataDir: string;
	let broker: ServiceBroker;
	const generate = (owner: string, scope: string, extra: object = {}) =>
		broker.call<Code, object>("tokens.generateCode", {
			type: "email-code",
			owner,
			scope,
			...extra
		});
	const consume = (scope: string, code: string, owner?: string) =>
		broker.call<TokenEntity | null, object>("tokens.consumeCode", {
			type: "email-code",
			scope,
			code,
			...(owner ? { owner } : {})
		});

	beforeAll(async () => {
		dataDir = tempDataDir();
		broker = await startService(TokensService, { dataDir });
	});
	afterAll(async () => {
		await broker.stop();
		removeDir(dataDir);
	});

	it("mints 6 digits that live 5 minutes, spent exactly once among concurrent calls", async () => {
		const made = await generate("u1", "ada@example.com", { data: { purpose: "sign-in" } });
		expect(made.code).toMatch(/^[0-9]{6}$/);
		const lifetime = Date.parse(made.expiresAt!) - Date.parse(made.createdAt);
		expect(lifetime).toBe(300_000);
		const results = await Promise.all(
			Array.from({ length: 50 }, () => consume("ada@example.com", made.code))
		);
		const won = results.filter(r => r !== null);
		expect(won).toHaveLength(1);
		expect(won[0]).toMatchObject({ id: made.id, owner: "u1", data: { purpose: "sign-in" } });
	});

	it("finds a code only with its own scope and owner", async () => {
		const made = await generate("u2", "bea@example.com");
		expect(await consume("other@example.com", made.code)).toBeNull();
		expect(await consume("bea@example.com", made.code, "someone-else")).toBeNull();
		const wrong = made.code === "000000" ? "000001" : "000000";
		expect(await consume("bea@example.com", wrong)).toBeNull();
		expect(await consume("bea@example.com", made.code, "u2")).toMatchObject({ id: made.id });
	});

	it("replaces the owner's earlier code of the type", async () => {
		const first = await generate("u3", "cy@example.com");
		const second = await generate("u3", "cy@example.com");
		if (first.code !== second.code) {
			expect(await consume("cy@example.com", first.code)).toBeNull();
		}
		expect(await consume("cy@example.com", second.code)).toMatchObject({ id: second.id });
	});

	it("keeps codes out of the data files and out of generate, and names bad fields", async () => {
		const made = await generate("u4", "dee@example.com");
		await new Promise(r => setTimeout(r, 50));
		const files = readdirSync(dataDir)
			.map(f => readFileSync(join(dataDir, f), "utf8"))
			.join("\n");
		expect(files).toContain(made.id);
		expect(files).not.toContain(`"${made.code}"`);
		expect(files).not.toContain("dee@example.com");

		const asToken = await rejection(
			broker.call("tokens.generate", { type: "email-code", owner: "u4" })
		);
		expect(asToken.code).toBe(422);
		expect(JSON.stringify(asToken.data)).toContain('"field":"type"');
		const notCode = await rejection(
			broker.call("tokens.generateCode", { type: "refresh", owner: "u4", scope: "x" })
		);
		expect(notCode.code).toBe(422);
		const badScope = await rejection(
			broker.call("tokens.generateCode", { type: "email-code", owner: "u4", scope: "a\nb" })
		);
		expect(JSON.stringify(badScope.data)).toContain('"field":"scope"');
		// A code of the wrong shape is simply not found.
		expect(await consume("dee@example.com", "12 345")).toBeNull();
	});
});
