/**
 * Secrets (TOKEN_SALT, the JWT secret) come from the environment. In production a missing secret stops
 * the node with a clear message. In development a random one is created once and kept in the data
 * folder, so tokens survive restarts without anyone having to invent a secret first.
 */
import { isProduction, listFromEnv } from "./env";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const MIN_SECRET_LENGTH = 32;

export interface SecretOptions {
	/** Environment variable holding the secret, e.g. TOKEN_SALT. */
	envName: string;
	/** File under the data folder that keeps the development secret. */
	fileName: string;
	env: NodeJS.ProcessEnv;
	dataDir: string;
	warn: (message: string) => void;
}

export function resolveSecret(opts: SecretOptions): string {
	const fromEnv = opts.env[opts.envName];
	if (fromEnv) {
		if (fromEnv.length < MIN_SECRET_LENGTH && isProduction(opts.env)) {
			throw new Error(
				`${opts.envName} is too short: use at least ${MIN_SECRET_LENGTH} random characters (e.g. \`openssl rand -base64 48\`)`
			);
		}
		return fromEnv;
	}
	if (isProduction(opts.env)) {
		throw new Error(
			`${opts.envName} is required when NODE_ENV=production: set it to at least ${MIN_SECRET_LENGTH} random characters (e.g. \`openssl rand -base64 48\`)`
		);
	}
	const file = join(opts.dataDir, opts.fileName);
	if (existsSync(file)) {
		opts.warn(`${opts.envName} is not set: using the development secret kept in ${file}`);
		return readFileSync(file, "utf8").trim();
	}
	mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
	const secret = randomBytes(48).toString("base64url");
	try {
		writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
	} catch (err) {
		// Another node sharing the data folder created it first: use theirs.
		if ((err as NodeJS.ErrnoException).code === "EEXIST")
			return readFileSync(file, "utf8").trim();
		throw err;
	}
	opts.warn(
		`${opts.envName} is not set: created a development secret in ${file}. Set ${opts.envName} in production.`
	);
	return secret;
}

/** TOKEN_SALT (see resolveSecret) and the previous salts still accepted for lookups. */
export function tokenSalts(
	dataDir: string,
	warn: (message: string) => void,
	env: NodeJS.ProcessEnv = process.env
): { current: string; previous: string[] } {
	return {
		current: resolveSecret({
			envName: "TOKEN_SALT",
			fileName: "token-salt",
			env,
			dataDir,
			warn
		}),
		previous: listFromEnv(env, "TOKEN_SALT_PREVIOUS")
	};
}

/** MAIL_QUEUE_SECRET (see resolveSecret): seals mails in the queue; only auth and mail hold it. */
export function mailQueueSecret(
	dataDir: string,
	warn: (message: string) => void,
	env: NodeJS.ProcessEnv = process.env
): string {
	return resolveSecret({
		envName: "MAIL_QUEUE_SECRET",
		fileName: "mail-queue-secret",
		env,
		dataDir,
		warn
	});
}
