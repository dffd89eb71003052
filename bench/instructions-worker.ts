/**
 * One run of bench/instructions.ts, under callgrind: a `tokens` node in this process with 1,000
 * live tokens, then `count` calls of one operation, 16 in flight. argv: operation, count.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fillTokens, startTokensNode } from "./fixture";

export const OPERATIONS = {
	check: { action: "tokens.check", params: (token: string) => ({ type: "api-key", token }) },
	"check isUsed": {
		action: "tokens.check",
		params: (token: string) => ({ type: "api-key", token, isUsed: true })
	},
	generate: { action: "tokens.generate", params: () => ({ type: "api-key", owner: "bench" }) }
} as const;

export type Operation = keyof typeof OPERATIONS;

async function main(operation: Operation, count: number): Promise<void> {
	const dataDir = mkdtempSync(join(tmpdir(), "instructions-"));
	const broker = await startTokensNode(dataDir);
	try {
		const tokens = await fillTokens(broker, 1000);
		const { action, params } = OPERATIONS[operation];
		let next = 0;
		const caller = async () => {
			while (next < count) {
				const token = tokens[next++ % tokens.length];
				await broker.call(action, params(token));
			}
		};
		await Promise.all(Array.from({ length: 16 }, caller));
	} finally {
		await broker.stop();
		rmSync(dataDir, { recursive: true, force: true });
	}
}

if (require.main === module) {
	const [operation, count] = process.argv.slice(2);
	if (!(operation in OPERATIONS) || !Number.isInteger(Number(count))) {
		console.error(`usage: instructions-worker <${Object.keys(OPERATIONS).join("|")}> <count>`);
		process.exit(2);
	}
	main(operation as Operation, Number(count)).catch(err => {
		console.error(err);
		process.exit(1);
	});
}
