/**
 * The `mail` service: sends one message with nodemailer. Over SMTP when SMTP_URL is set; otherwise
 * each message is written as an .eml file to an outbox folder a developer can open. Messages come
 * from `mail.send`, and, when MAIL_QUEUE_URL is set, from the durable JetStream queue `auth` hands
 * its mails to (lib/mail/mail-queue), acknowledged once SMTP accepted them.
 *
 * Mails carry sign-in and reset links, so neither a body nor a link is ever logged, and errors are
 * reported without the message.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Errors, type Context, type Service, type ServiceSchema } from "moleculer";
import nodemailer, { type Transporter } from "nodemailer";
import { dataDirFromEnv, mailQueueFromEnv, type MailQueueConfig } from "../lib/config/env";
import { mailQueueSecret } from "../lib/config/secrets";
import { count, registerMetrics } from "../lib/broker/project-metrics";
import { MailQueue } from "../lib/mail/mail-queue";
import type { MailContent } from "../lib/mail/queued-mail";

export interface MailSettings {
	/** The From: address. */
	from: string;
	/** e.g. smtp://127.0.0.1:2525 or smtps://user:pass@host; null writes to the outbox instead. */
	smtpUrl: string | null;
	/** Folder of .eml files when there is no SMTP server; default `<dataDir>/outbox`. */
	outboxDir: string | null;
	dataDir?: string;
	queue: MailQueueConfig;
}

export type SendParams = MailContent;

export interface SendResult {
	messageId: string;
	transport: "smtp" | "outbox";
}

interface MailMethods {
	deliver(mail: SendParams, messageId?: string): Promise<SendResult>;
	writeToOutbox(message: Buffer): Promise<void>;
}

interface MailLocalVars {
	transporter: Transporter;
	transportKind: "smtp" | "outbox";
	outbox: string;
	queue: MailQueue | null;
}

type MailThis = Service<MailSettings> & MailMethods & MailLocalVars;

/** An SMTP line may not hold a line break: a subject with one would inject headers. */
const SINGLE_LINE = /^[^\r\n]*$/;

const MailService: ServiceSchema<MailSettings, MailMethods, MailLocalVars> = {
	name: "mail",

	settings: {
		from: process.env.MAIL_FROM || "no-reply@localhost",
		smtpUrl: process.env.SMTP_URL || null,
		outboxDir: process.env.MAIL_OUTBOX_DIR || null,
		queue: mailQueueFromEnv(process.env)
	},

	actions: {
		/**
		 * Sends one message. Public: other services call it, the gateway never publishes it. Not
		 * retried: a retry after a lost answer would send the mail twice.
		 */
		send: {
			visibility: "public",
			params: {
				$$strict: true,
				to: { type: "email", max: 254 },
				subject: { type: "string", min: 1, max: 200, pattern: SINGLE_LINE },
				text: { type: "string", min: 1, max: 100_000 },
				html: { type: "string", min: 1, max: 200_000, optional: true }
			},
			retryPolicy: { enabled: false },
			handler(ctx: Context<SendParams>): Promise<SendResult> {
				return this.deliver(ctx.params);
			}
		}
	},

	methods: {
		/** Sends one message; `messageId` (the queue's mail id) becomes its Message-ID. */
		async deliver(this: MailThis, mail: SendParams, messageId?: string): Promise<SendResult> {
			const { to, subject, text, html } = mail;
			try {
				const info = await this.transporter.sendMail({
					from: this.settings.from,
					// An address object: nodemailer never parses it as a list or a display name.
					to: { name: "", address: to },
					subject,
					text,
					...(html === undefined ? {} : { html }),
					...(messageId === undefined
						? {}
						: { messageId: `<${messageId}@moleculer-tokens>` })
				});
				if (this.transportKind === "outbox") {
					await this.writeToOutbox(info.message as Buffer);
				}
				this.logger.debug(`Mail ${info.messageId} sent (${this.transportKind}).`);
				count(this.broker, "mtk.mail.total", { result: "sent" });
				return { messageId: info.messageId, transport: this.transportKind };
			} catch (err) {
				// Only the failure's kind: an SMTP error may quote the message it refused.
				count(this.broker, "mtk.mail.total", { result: "failed" });
				const kind = failureKindOf(err);
				this.logger.warn(`Mail could not be sent (${this.transportKind}): ${kind}`);
				const e = err as { code?: string; responseCode?: number };
				throw new Errors.MoleculerError(
					"The mail could not be sent",
					502,
					"MAIL_NOT_SENT",
					{
						code: e.code ?? null,
						responseCode: e.responseCode ?? null
					}
				);
			}
		},

		/** One file per message, readable only by this user: it holds a live link. */
		async writeToOutbox(this: MailThis, message: Buffer): Promise<void> {
			await mkdir(this.outbox, { recursive: true, mode: 0o700 });
			const stamp = new Date().toISOString().replace(/[:.]/g, "-");
			const file = join(this.outbox, `${stamp}-${randomBytes(4).toString("hex")}.eml`);
			await writeFile(file, message, { mode: 0o600, flag: "wx" });
		}
	},

	created(this: MailThis) {
		registerMetrics(this.broker, ["mtk.mail.total", "mtk.mail.queue.total"]);
		if (this.settings.smtpUrl) {
			this.transportKind = "smtp";
			// Nodemailer's own logger stays off: at debug level it prints whole messages.
			this.transporter = nodemailer.createTransport(this.settings.smtpUrl);
		} else {
			this.transportKind = "outbox";
			this.outbox =
				this.settings.outboxDir ??
				join(this.settings.dataDir ?? dataDirFromEnv(process.env), "outbox");
			this.transporter = nodemailer.createTransport({
				streamTransport: true,
				buffer: true,
				newline: "unix"
			});
		}
	},

	async started(this: MailThis) {
		this.logger.info(
			this.transportKind === "smtp"
				? "Sending mail over SMTP."
				: `No SMTP_URL: writing mail to ${this.outbox}.`
		);
		this.queue = null;
		if (!this.settings.queue.url) return;
		const dataDir = this.settings.dataDir ?? dataDirFromEnv(process.env);
		this.queue = await MailQueue.open(
			this.settings.queue,
			mailQueueSecret(dataDir, m => this.logger.warn(m))
		);
		await this.queue.consume(
			async mail => {
				const { id, ...content } = mail;
				await this.deliver(content, id);
			},
			outcome => count(this.broker, "mtk.mail.queue.total", { outcome }),
			queueFailureKind
		);
		this.logger.info(`Taking mails from the JetStream queue ${this.settings.queue.stream}.`);
	},

	async stopped(this: MailThis) {
		await this.queue?.close();
		this.transporter.close();
	}
};

/** A dead letter's failure kind, e.g. smtp_550: the SMTP status or the error's code, never text. */
function queueFailureKind(err: unknown): string {
	const { code, responseCode } = (err as Errors.MoleculerError).data ?? {};
	return responseCode ? `smtp_${responseCode}` : String(code ?? "error").toLowerCase();
}

/** The kind of a send failure: a code and an SMTP status, never the server's text. */
function failureKindOf(err: unknown): string {
	const e = err as { code?: string; responseCode?: number };
	return `${e.code ?? "error"}${e.responseCode ? ` ${e.responseCode}` : ""}`;
}

export default MailService;
