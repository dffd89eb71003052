/**
 * Reading the environment: every `*FromEnv` helper of the project lives here (secrets and salts in
 * secrets.ts, durations in durations.ts), each naming the variable in any error.
 */
/** Whole numbers from the environment (limits, counts), with the variable named in any error. */
export function wholeNumberFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
	const raw = env[name];
	if (raw === undefined || raw === "") return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < 0) {
		throw new Error(`${name} must be a whole, non-negative number`);
	}
	return value;
}

/** A positive whole number (attempt limits, queue sizes): 0 is refused. */
export function positiveWholeNumberFromEnv(
	env: NodeJS.ProcessEnv,
	name: string,
	fallback: number
): number {
	const raw = env[name];
	if (raw === undefined || raw === "") return fallback;
	if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
		throw new Error(`${name} must be a positive whole number`);
	}
	return Number(raw);
}

/** A comma-separated list, trimmed, without empty entries. */
export function listFromEnv(env: NodeJS.ProcessEnv, name: string): string[] {
	return (env[name] ?? "")
		.split(",")
		.map(s => s.trim())
		.filter(Boolean);
}

/** The folder of the embedded store, secrets created for development, and the mail outbox. */
export function dataDirFromEnv(env: NodeJS.ProcessEnv): string {
	return env.DATA_DIR || "./data";
}

export function isProduction(env: NodeJS.ProcessEnv): boolean {
	return env.NODE_ENV === "production";
}

/** The base URL of the links in mails and of the OpenAPI `servers` entry, without a trailing slash. */
export function publicUrlFromEnv(env: NodeJS.ProcessEnv): string {
	return (env.PUBLIC_URL || "http://localhost:3000").replace(/\/+$/, "");
}

/** Where `auth` hands mails to `mail`: a JetStream queue when MAIL_QUEUE_URL is set (see lib/mail). */
export interface MailQueueConfig {
	/** nats://… of a server with JetStream; null: `auth` calls mail.send directly. */
	url: string | null;
	/** The stream's name; its subjects, dead letters and sent-mail bucket are named after it. */
	stream: string;
	/** Seconds a mail node may hold a mail unacknowledged before JetStream gives it to another. */
	ackWait: number;
	/** Deliveries of one mail before it goes to the dead letters. */
	maxAttempts: number;
	/** Seconds before the first retry; doubled each time, at most 10 minutes. */
	retryDelay: number;
}

const STREAM_NAME = /^[A-Za-z0-9_-]{1,32}$/;

export function mailQueueFromEnv(env: NodeJS.ProcessEnv): MailQueueConfig {
	const stream = env.MAIL_QUEUE_STREAM || "MTK_MAIL";
	if (!STREAM_NAME.test(stream)) {
		throw new Error("MAIL_QUEUE_STREAM must be 1 to 32 letters, digits, '_' or '-'");
	}
	const url = env.MAIL_QUEUE_URL || null;
	if (url !== null && !/^(nats|tls):\/\//.test(url)) {
		throw new Error("MAIL_QUEUE_URL must be a nats:// or tls:// URL");
	}
	return {
		url,
		stream,
		ackWait: positiveWholeNumberFromEnv(env, "MAIL_QUEUE_ACK_WAIT", 30),
		maxAttempts: positiveWholeNumberFromEnv(env, "MAIL_QUEUE_MAX_ATTEMPTS", 5),
		retryDelay: positiveWholeNumberFromEnv(env, "MAIL_QUEUE_RETRY_DELAY", 5)
	};
}
