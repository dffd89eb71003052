/**
 * The README's `broker.call` example, run as written against the `tokens` service on a real broker:
 * the block that follows `<!-- runnable: broker-call -->`, with `broker` in scope.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import TokensService from "../../../services/tokens/tokens.service";
import { removeDir, startService, tempDataDir } from "../../helpers/broker";
import { runnableBlock } from "../../helpers/docs";

describe("the README's broker.call example", () => {
	const dataDir = tempDataDir();
	let broker: ServiceBroker;

	beforeAll(async () => {
		broker = await startService(TokensService, { dataDir });
	});
	afterAll(async () => {
		await broker.stop();
		removeDir(dataDir);
	});

	it("runs as written, and does what its comments say", async () => {
		const code = runnableBlock(
			readFileSync(join(__dirname, "../../../README.md"), "utf8"),
			"broker-call",
			"js"
		);
		const calls: { action: string; answer: unknown }[] = [];
		const recording = {
			call: async (action: string, params: object) => {
				const answer = await broker.call(action, params);
				calls.push({ action, answer });
				return answer;
			}
		};
		const run = new Function("broker", `return (async () => {\n${code}\n})();`) as (
			b: typeof recording
		) => Promise<void>;
		await run(recording);
		expect(calls.map(c => c.action)).toEqual([
			"tokens.generate",
			"tokens.check",
			"tokens.remove"
		]);
		const [made, checked, removed] = calls.map(c => c.answer as Record<string, unknown>);
		expect(made.token).toMatch(/^mtv_/);
		expect(checked).toMatchObject({ owner: "user123", type: "verification" });
		expect(removed).toMatchObject({ id: made.id });
	});
});
