/**
 * A real SMTP server for tests (the `smtp-server` package) on an ephemeral port: the mail service
 * delivers to it over SMTP, and tests read the message and follow the link in it, as a user would.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
	/** Envelope. */
	from: string;
	to: string[];
	/** The message as it came over the wire. */
	raw: string;
	headers: Record<string, string>;
	subject: string;
	/** Decoded text/plain part ("" when none). */
	text: string;
	/** Decoded text/html part, or null. */
	html: string | null;
}

export interface TestSmtpServer {
	url: string;
	port: number;
	messages: ReceivedMail[];
	/** The first message (already received or still to come) that matches; fails after a timeout. */
	waitFor(predicate: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
	/** The messages after the first `since` that match, once `settleMs` more have passed. */
	arrivedSince(
		since: number,
		predicate: (mail: ReceivedMail) => boolean,
		settleMs?: number
	): Promise<ReceivedMail[]>;
	close(): Promise<void>;
}

interface MimePart {
	headers: Record<string, string>;
	body: string;
}

export interface SmtpServerOptions {
	/**
	 * Awaited after a message's data arrived and before the server answers 250. A message whose
	 * sender hung up meanwhile is not accepted (as a real server discards it) and is not recorded.
	 */
	beforeAccept?: (mail: ReceivedMail) => Promise<void>;
	/** Recipients answered 550 at RCPT TO. */
	refuse?: (address: string) => boolean;
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
	const messages: ReceivedMail[] = [];
	const waiters = new Set<() => void>();
	const closedSessions = new Set<string>();
	const server = new SMTPServer({
		authOptional: true,
		// Plain SMTP on localhost: no STARTTLS offered, so no self-signed certificate to refuse.
		disabledCommands: ["STARTTLS"],
		logger: false,
		onClose(session) {
			closedSessions.add(session.id);
		},
		onRcptTo(address, _session, callback) {
			if (options.refuse?.(address.address)) {
				const refused = new Error("Mailbox unavailable") as Error & {
					responseCode: number;
				};
				refused.responseCode = 550;
				return callback(refused);
			}
			callback();
		},
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on("data", (c: Buffer) => chunks.push(c));
			stream.on("end", async () => {
				const raw = Buffer.concat(chunks).toString("utf8");
				const envelope = session.envelope;
				const mail = {
					...readMessage(raw),
					raw,
					from: envelope.mailFrom ? envelope.mailFrom.address : "",
					to: envelope.rcptTo.map(r => r.address)
				};
				await options.beforeAccept?.(mail);
				if (closedSessions.has(session.id)) return callback(new Error("Sender gone"));
				messages.push(mail);
				for (const wake of [...waiters]) wake();
				callback();
			});
		}
	});
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => resolve());
	});
	const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();

	return {
		url: `smtp://127.0.0.1:${port}`,
		port,
		messages,
		waitFor(predicate, timeoutMs = 10_000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					const found = messages.find(predicate);
					if (!found) return false;
					clearTimeout(timer);
					waiters.delete(wake);
					resolve(found);
					return true;
				};
				const wake = () => void check();
				const timer = setTimeout(() => {
					waiters.delete(wake);
					reject(new Error(`No matching mail within ${timeoutMs} ms`));
				}, timeoutMs);
				if (!check()) waiters.add(wake);
			});
		},
		async arrivedSince(since, predicate, settleMs = 300) {
			await new Promise(resolve => setTimeout(resolve, settleMs));
			return messages.slice(since).filter(predicate);
		},
		close: () => new Promise<void>(resolve => server.close(() => resolve()))
	};
}

/** The first link in a mail's text whose path is `path`, e.g. "/verify-email". */
export function linkIn(mail: ReceivedMail, path: string): string {
	for (const match of mail.text.matchAll(/https?:\/\/[^\s<>"]+/g)) {
		if (new URL(match[0]).pathname === path) return match[0];
	}
	throw new Error(`No ${path} link in the mail "${mail.subject}"`);
}

/** The `token` query parameter of a link. */
export function tokenOf(link: string): string {
	const token = new URL(link).searchParams.get("token");
	if (!token) throw new Error("The link has no token");
	return token;
}

function readMessage(raw: string): Pick<ReceivedMail, "headers" | "subject" | "text" | "html"> {
	const root = parsePart(raw);
	const leaves = flatten(root);
	const ofType = (type: string) =>
		leaves.find(p => (p.headers["content-type"] ?? "text/plain").startsWith(type));
	const text = ofType("text/plain");
	const html = ofType("text/html");
	return {
		headers: root.headers,
		subject: decodeWords(root.headers.subject ?? ""),
		text: text ? decodeBody(text) : "",
		html: html ? decodeBody(html) : null
	};
}

function parsePart(raw: string): MimePart {
	const split = raw.search(/\r?\n\r?\n/);
	const head = split === -1 ? raw : raw.slice(0, split);
	const body = split === -1 ? "" : raw.slice(split).replace(/^\r?\n\r?\n/, "");
	const headers: Record<string, string> = {};
	// Unfold continuation lines, then read "Name: value".
	for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
		const colon = line.indexOf(":");
		if (colon > 0)
			headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
	}
	return { headers, body };
}

function flatten(part: MimePart): MimePart[] {
	const type = part.headers["content-type"] ?? "";
	const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
	if (!type.startsWith("multipart/") || !boundary) return [part];
	return part.body
		.split(`--${boundary}`)
		.slice(1)
		.filter(chunk => !chunk.startsWith("--"))
		.flatMap(chunk => flatten(parsePart(chunk.replace(/^\r?\n/, ""))));
}

function decodeBody(part: MimePart): string {
	const encoding = (part.headers["content-transfer-encoding"] ?? "7bit").toLowerCase();
	if (encoding === "base64") return Buffer.from(part.body, "base64").toString("utf8");
	if (encoding === "quoted-printable") return decodeQuotedPrintable(part.body);
	return part.body;
}

function decodeQuotedPrintable(s: string): string {
	const bytes: number[] = [];
	const soft = s.replace(/=\r?\n/g, "");
	for (let i = 0; i < soft.length; i++) {
		if (soft[i] === "=" && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
			bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
			i += 2;
		} else {
			bytes.push(...Buffer.from(soft[i], "utf8"));
		}
	}
	return Buffer.from(bytes).toString("utf8");
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=) in a header. */
function decodeWords(value: string): string {
	return value.replace(
		/=\?([^?]+)\?([QB])\?([^?]*)\?=/gi,
		(_m, _charset, kind: string, text: string) =>
			kind.toUpperCase() === "B"
				? Buffer.from(text, "base64").toString("utf8")
				: decodeQuotedPrintable(text.replace(/_/g, " "))
	);
}
