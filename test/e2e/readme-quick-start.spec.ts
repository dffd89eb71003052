/**
 * The README's quick start, pasted as a newcomer would: a node started as `npm start` starts it
 * (moleculer-runner on dist/, every service, the embedded store, mail to the outbox), then the
 * README's runnable block runs in bash as written, against that node, and ends with a working API
 * key. Only the address changes (a free port instead of 3000).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, tempDataDir } from "../helpers/broker";
import { request } from "../helpers/http";
import { runnableBlock } from "../helpers/docs";
import {
	buildOnce,
	eventually,
	freePort,
	ROOT,
	startNode,
	type NodeProcess
} from "../helpers/process";

describe("the README's quick start", () => {
	const dataDir = tempDataDir("moleculer-quick-start-");
	let node: NodeProcess;
	let port: number;

	beforeAll(async () => {
		buildOnce();
		port = await freePort();
		node = startNode("quick-start", "", {
			PORT: String(port),
			IP: "127.0.0.1",
			DATA_DIR: dataDir,
			LOGLEVEL: "warn"
		});
		await eventually(
			async () => (await request(`http://127.0.0.1:${port}/ready`)).status === 200,
			30_000,
			"the node ready"
		);
	}, 60_000);

	afterAll(async () => {
		await node?.stop();
		removeDir(dataDir);
	});

	it("goes from nothing to a working API key, pasted as written", () => {
		const block = runnableBlock(readFileSync(join(ROOT, "README.md"), "utf8"), "quick-start");
		expect(block).toContain("localhost:3000");
		const script = block.replaceAll("localhost:3000", `127.0.0.1:${port}`);
		const result = spawnSync("bash", ["-e", "-o", "pipefail", "-c", script], {
			cwd: ROOT,
			encoding: "utf8",
			timeout: 120_000,
			env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATA_DIR: dataDir }
		});
		const output = `${result.stdout}\n${result.stderr}`;
		expect([result.status, output]).toEqual([0, output]);
		const last = result.stdout.trim().split("\n").at(-1)!;
		expect(JSON.parse(last)).toMatchObject({ username: "ada", email: "ada@example.com" });
		expect(output).toContain('"ready":true');
		expect(output).toContain("Confirm your e-mail address");
	}, 150_000);
});
