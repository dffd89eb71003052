/**
 * No deprecation warning (DEP0174 above all: moleculer-db's NeDB adapter promisifies functions that
 * return promises) is printed by any `tokens` operation on the project's Node. Node prints a
 * deprecation once per process and jest shares one process between suites, so the operations run in
 * a fresh Node process on the compiled service, which reports every 'warning' event it saw. A control
 * step then calls the adapter's own promisified update, to show a DEP0174 would be caught.
 */
import { spawnSync } from "node:child_process";
import { buildOnce, ROOT } from "../../helpers/process";
import { removeDir, tempDataDir } from "../../helpers/broker";

interface Seen {
	name: string;
	code?: string;
	message: string;
}

const SCRIPT = `
const { ServiceBroker } = require("moleculer");
const config = require("./dist/moleculer.config.js");
const { RedactingValidator } = require("./dist/lib/broker/redacting-validator.js");
const TokensService = require("./dist/services/tokens/tokens.service.js").default;
const seen = { tokens: [], control: [] };
let phase = "tokens";
process.on("warning", w => seen[phase].push({ name: w.name, code: w.code, message: w.message }));
(async () => {
	const broker = new ServiceBroker({ ...config, logger: false, validator: new RedactingValidator() });
	broker.createService({ ...TokensService, settings: { ...TokensService.settings, dataDir: process.argv[1] } });
	await broker.start();
	const svc = broker.getLocalService("tokens");
	const call = (action, params) => broker.call("tokens." + action, params);
	const gen = (type, extra) => call("generate", { type, owner: "o", ...extra });
	const a = await gen("api-key"), b = await gen("verification"), c = await gen("password-reset");
	await Promise.all(Array.from({ length: 50 }, () => gen("refresh")));
	await call("check", { type: "api-key", token: a.token });
	await call("check", { type: "api-key", token: a.token, isUsed: true });
	await svc.touches.flush();
	await call("consume", { type: "verification", token: b.token });
	await call("remove", { type: "password-reset", token: c.token });
	await call("revoke", { id: a.id, owner: "o" });
	await call("listByOwner", { owner: "o" });
	await call("removeByOwner", { owner: "o", type: "refresh" });
	await call("stats", {});
	await gen("passwordless", { expiry: 1 });
	const now = Date.now;
	Date.now = () => now() + 5000;
	await call("removeExpired", {});
	Date.now = now;
	await broker.stop();
	await new Promise(r => setTimeout(r, 50)); // warnings are emitted on the next tick
	phase = "control";
	await broker.start();
	await broker.getLocalService("tokens").adapter.updateMany({ _id: "none" }, { $set: { x: 1 } });
	await new Promise(r => setTimeout(r, 50));
	await broker.stop();
	process.stdout.write(JSON.stringify(seen));
})().catch(err => { console.error(err); process.exit(1); });
`;

describe("tokens on Node 24: no deprecation warnings", () => {
	it("prints none in generate, check, isUsed flush, consume, remove, revoke, lists, stats, cleanup", () => {
		buildOnce();
		const dataDir = tempDataDir();
		try {
			const run = spawnSync(process.execPath, ["-e", SCRIPT, dataDir], {
				cwd: ROOT,
				encoding: "utf8",
				env: { PATH: process.env.PATH, NODE_ENV: "test", TOKEN_SALT: "x".repeat(40) },
				timeout: 60_000
			});
			expect(run.status).toBe(0);
			const seen = JSON.parse(run.stdout) as { tokens: Seen[]; control: Seen[] };
			expect(process.versions.node.split(".")[0]).toBe("24");
			expect(seen.tokens).toEqual([]);
			// The control: the same listener does see moleculer-db's own DEP0174.
			expect(seen.control.map(w => w.code)).toContain("DEP0174");
			// And what Node printed is the control's, nothing more.
			expect(run.stderr.match(/\[DEP\d+\]/g)).toEqual(seen.control.map(w => `[${w.code}]`));
		} finally {
			removeDir(dataDir);
		}
	}, 90_000);
});
