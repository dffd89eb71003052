/**
 * docker-compose.yml and the Dockerfile against the docs, since no Docker engine runs on our CI
 * machines: every variable compose requires (`${NAME:?…}`) is documented where the docs say how to
 * start it and in .env.example; every image it pulls is pinned; the mail catcher, which shows live
 * links, is published on loopback only; the image installs the locked versions.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "../../..");
const read = (file: string) => readFileSync(join(root, file), "utf8");
const compose = read("docker-compose.yml");

describe("docker-compose.yml and the Dockerfile", () => {
	it("documents every variable compose requires, in docs/running.md and .env.example", () => {
		const required = [...new Set([...compose.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map(m => m[1]))];
		expect(required).toEqual(expect.arrayContaining(["TOKEN_SALT", "JWT_SECRET"]));
		const running = read("docs/running.md");
		const startBlock = running.slice(running.indexOf("```bash", running.indexOf("## Docker")));
		const example = read(".env.example");
		for (const name of required) {
			expect([name, startBlock.includes(`${name}=`)]).toEqual([name, true]);
			expect([name, new RegExp(`^${name}=`, "m").test(example)]).toEqual([name, true]);
		}
	});

	it("pins every image it pulls (only the project's own image, built here, has no version)", () => {
		const images = [...compose.matchAll(/^\s*image:\s*(\S+)/gm)].map(m => m[1]);
		expect(images.length).toBeGreaterThan(3);
		for (const image of images) {
			if (image.startsWith("moleculer-tokens:")) continue;
			expect([image, /:(?!latest$)[\w.-]+$/.test(image)]).toEqual([image, true]);
		}
	});

	it("publishes the mail catcher on loopback only", () => {
		const mailpit = compose.slice(
			compose.indexOf("mailpit:"),
			compose.indexOf("\n\n", compose.indexOf("mailpit:"))
		);
		const ports = [...mailpit.matchAll(/-\s*"([^"]+)"/g)].map(m => m[1]);
		expect(ports.length).toBeGreaterThan(0);
		for (const port of ports) expect(port.startsWith("127.0.0.1:")).toBe(true);
	});

	it("builds the image from the lock file", () => {
		const dockerfile = read("Dockerfile");
		expect(dockerfile).toMatch(/RUN npm ci /);
		expect(dockerfile).not.toMatch(/RUN npm install/);
	});
});
