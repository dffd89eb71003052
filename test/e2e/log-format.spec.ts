/**
 * What a node writes, as an operator's log collector sees it: with LOG_FORMAT=json every line of
 * its output is one JSON object with a level and a message, and at the default level the gateway
 * writes at most one line per request.
 */
import { removeDir, tempDataDir } from "../helpers/broker";
import { request } from "../helpers/http";
import { buildOnce, eventually, freePort, startNode, type NodeProcess } from "../helpers/process";

describe("a node's log output", () => {
	const dataDir = tempDataDir("moleculer-logs-");
	let node: NodeProcess;
	let base: string;

	beforeAll(async () => {
		buildOnce();
		const port = await freePort();
		base = `http://127.0.0.1:${port}`;
		node = startNode("logs", "", {
			PORT: String(port),
			IP: "127.0.0.1",
			DATA_DIR: dataDir,
			LOG_FORMAT: "json",
			RATE_LIMIT_PUBLIC: "10000"
		});
		await eventually(async () => (await request(`${base}/ready`)).status === 200, 30_000);
	}, 60_000);

	afterAll(async () => {
		await node?.stop();
		removeDir(dataDir);
	});

	it("writes one JSON object per line, and at most one line per request at info", async () => {
		const before = node.output().split("\n").length;
		for (let i = 0; i < 50; i++) {
			const res = await request(`${base}/api/openapi.json`);
			expect([res.status, res.text.slice(0, 200)]).toEqual([200, res.text.slice(0, 200)]);
		}
		await new Promise(r => setTimeout(r, 200));
		const lines = node
			.output()
			.split("\n")
			.filter(line => line.trim() !== "");
		for (const line of lines) {
			const entry = JSON.parse(line) as { level?: string; msg?: string };
			expect(typeof entry.level).toBe("string");
			expect(typeof entry.msg).toBe("string");
		}
		const during = node.output().split("\n").length - before;
		expect(during).toBeLessThanOrEqual(50);
		expect(
			lines.some(l =>
				(JSON.parse(l) as { msg: string }).msg.startsWith("<= 200 GET /api/openapi.json")
			)
		).toBe(true);
	});
});
