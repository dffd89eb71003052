/**
 * The package as another team gets it: `npm pack` the project, install the tarball into a new
 * sibling project beside moleculer (a peer dependency: one copy), type-check a TypeScript file
 * against its declarations, and run a sibling service as a process of its own that imports the JWT
 * verifier mixin and the failover options from `moleculer-tokens` and verifies, over NATS, an
 * access token issued by `auth` running here.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import TokensService from "../../services/tokens/tokens.service";
import type { SignInResult } from "../../services/auth/auth.service";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../helpers/broker";
import { describeWithNats, natsTransporter, NATS_URL, uniqueNamespace } from "../helpers/nats";
import { authService } from "../helpers/auth";
import { buildOnce, ROOT } from "../helpers/process";

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

function run(command: string, args: string[], cwd: string): string {
	const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 240_000 });
	if (result.status !== 0) {
		throw new Error(`${command} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
	}
	return result.stdout;
}

const SIBLING_JS = `
const { ServiceBroker } = require("moleculer");
const { JwtVerifierMixin, failoverBrokerOptions } = require("moleculer-tokens");
const broker = new ServiceBroker({
	...failoverBrokerOptions(),
	namespace: process.env.NAMESPACE,
	nodeID: "sibling-resource",
	transporter: process.env.TRANSPORTER,
	logLevel: "warn"
});
broker.createService({
	name: "resource",
	mixins: [JwtVerifierMixin],
	actions: {
		whoami: { auth: "required", handler: ctx => ({ ...ctx.meta.user, moleculer: require.resolve("moleculer") }) }
	}
});
broker.start().then(() => console.log("sibling ready"));
process.on("SIGTERM", () => broker.stop().then(() => process.exit(0)));
`;

const SIBLING_TS = `
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { JwtVerifierMixin, failoverBrokerOptions, TOKEN_TYPES, type TokenEntity, type VerifiedCaller } from "moleculer-tokens";
const broker = new ServiceBroker({ ...failoverBrokerOptions() });
const schema: ServiceSchema = { name: "typed", mixins: [JwtVerifierMixin] };
broker.createService(schema);
export async function check(token: string): Promise<TokenEntity | null> {
	return broker.call<TokenEntity | null, object>("tokens.check", { type: TOKEN_TYPES.apiKey, token });
}
export const caller: VerifiedCaller = { id: "u", scopes: [], session: null, via: "jwt" };
`;

describeWithNats("the package installed into a sibling project", () => {
	const work = mkdtempSync(join(tmpdir(), "moleculer-tokens-pack-"));
	const sibling = join(work, "sibling");
	const dataDir = tempDataDir();
	let broker: ServiceBroker;
	let child: ReturnType<typeof spawn> | undefined;
	const namespace = uniqueNamespace("package");

	beforeAll(async () => {
		buildOnce();
		run(NPM, ["pack", "--ignore-scripts", "--pack-destination", work], ROOT);
		const tarball = readdirSync(work).find(f => f.endsWith(".tgz"))!;
		mkdirSync(sibling);
		writeFileSync(
			join(sibling, "package.json"),
			JSON.stringify({
				name: "sibling",
				version: "1.0.0",
				private: true,
				dependencies: {
					moleculer: "^0.15.2",
					"moleculer-tokens": `file:../${tarball}`
				}
			})
		);
		run(
			NPM,
			["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
			sibling
		);
		writeFileSync(join(sibling, "sibling.js"), SIBLING_JS);
		writeFileSync(join(sibling, "typed.ts"), SIBLING_TS);

		broker = createTestBroker({
			namespace,
			nodeID: "auth-node",
			transporter: natsTransporter()
		});
		broker.createService(withSettings(TokensService, { dataDir }));
		broker.createService(authService({ requireVerifiedEmail: false })(dataDir));
		await broker.start();
	}, 300_000);

	afterAll(async () => {
		child?.kill("SIGTERM");
		await broker?.stop();
		removeDir(dataDir);
		removeDir(work);
	});

	it("ships the built, typed entry and no sources or tests", () => {
		const pkg = join(sibling, "node_modules/moleculer-tokens");
		expect(existsSync(join(pkg, "dist/index.js"))).toBe(true);
		expect(existsSync(join(pkg, "dist/index.d.ts"))).toBe(true);
		expect(existsSync(join(pkg, "test"))).toBe(false);
		expect(existsSync(join(pkg, "services"))).toBe(false);
		// moleculer is a peer: the sibling's one copy, none inside the package.
		expect(existsSync(join(pkg, "node_modules/moleculer"))).toBe(false);
	});

	it("type-checks a sibling's TypeScript against the package's declarations", () => {
		const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
		run(
			process.execPath,
			[
				tsc,
				"--noEmit",
				"--strict",
				"--skipLibCheck",
				"--esModuleInterop",
				"--module",
				"commonjs",
				"--target",
				"ES2022",
				"--types",
				"node",
				"--typeRoots",
				join(ROOT, "node_modules/@types"),
				"typed.ts"
			],
			sibling
		);
	});

	it("runs a sibling service that verifies auth's access tokens with the mixin over NATS", async () => {
		child = spawn(process.execPath, ["sibling.js"], {
			cwd: sibling,
			env: { PATH: process.env.PATH ?? "", NAMESPACE: namespace, TRANSPORTER: NATS_URL },
			stdio: ["ignore", "pipe", "pipe"]
		});
		let output = "";
		child.stdout!.on("data", c => (output += String(c)));
		child.stderr!.on("data", c => (output += String(c)));
		await broker.waitForServices(["resource"], 20_000).catch(() => {
			throw new Error(`the sibling did not come up:\n${output}`);
		});
		await broker.call("auth.signUp", {
			username: "packaged",
			email: "packaged@example.com",
			password: "a long enough password"
		});
		const session = await broker.call<SignInResult, object>("auth.signIn", {
			login: "packaged",
			password: "a long enough password"
		});
		const answer = await broker.call<{ id: string; via: string; moleculer: string }, object>(
			"resource.whoami",
			{},
			{ meta: { authorization: `Bearer ${session.accessToken}` } }
		);
		expect(answer).toMatchObject({ id: session.user.id, via: "jwt" });
		expect(answer.moleculer).toBe(join(sibling, "node_modules/moleculer/index.js"));
		await expect(
			broker.call("resource.whoami", {}, { meta: { authorization: "Bearer nope" } })
		).rejects.toMatchObject({ code: 401 });
	}, 60_000);
});
