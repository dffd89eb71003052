/**
 * The `mail` service: sends one message with nodemailer. Over SMTP when SMTP_URL is set; otherwise
 * each message is written as an .eml file to an outbox folder a developer can open.
 *
 * Mails carry sign-in and reset links, so neither a body nor a link is ever logged, and errors are
 * reported without the message.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Errors, type Context, type Service, type ServiceSchema } from "moleculer";
import nodemailer, { type Transporter } from "nodemailer";
import { dataDirFromEnv } from "../lib/config/env";
import { count } from "../lib/broker/project-metrics";

export interface MailSettings {
	/** The From: address. */
	from: string;
	/** e.g. smtp://127.0.0.1:2525 or smtps://user:pass@host; null writes to the outbox instead. */
	smtpUrl: string | null;
	/** Folder of .eml files when there is no SMTP server; default `<dataDir>/outbox`. */
	outboxDir: string | null;
	dataDir?: string;
}

export interface SendParams {
	to: string;
	subject: string;
	text: string;
	html?: string;
}

export interface SendResult {
	messageId: string;
	transport: "smtp" | "outbox";
}

interface MailMethods {
	writeToOutbox(message: Buffer): Promise<void>;
}

interface MailLocalVars {
	transporter: Transporter;
	transportKind: "smtp" | "outbox";
	outbox: string;
}

type MailThis = Service<MailSettings> & MailMethods & MailLocalVars;

/** An SMTP line may not hold a line break: a subject with one would inject headers. */
const SINGLE_LINE = /^[^\r\n]*$/;

const MailService: ServiceSchema<MailSettings, MailMethods, MailLocalVars> = {
	name: "mail",

	settings: {
		from: process.env.MAIL_FROM || "no-reply@localhost",
		smtpUrl: process.env.SMTP_URL || null,
		outboxDir: process.env.MAIL_OUTBOX_DIR || null
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
			async handler(this: MailThis, ctx: Context<SendParams>): Promise<SendResult> {
				const { to, subject, text, html } = ctx.params;
				try {
					const info = await this.transporter.sendMail({
						from: this.settings.from,
						// An address object: nodemailer never parses it as a list or a display name.
						to: { name: "", address: to },
						subject,
						text,
						...(html === undefined ? {} : { html })
					});
					if (this.transportKind === "outbox") {
						await this.writeToOutbox(info.message as Buffer);
					}
					this.logger.debug(`Mail ${info.messageId} sent (${this.transportKind}).`);
					count(this.broker, "mtk.mail.total", { result: "sent" });
					return { messageId: info.messageId, transport: this.transportKind };
				} catch (err) {
					// Only the failure's kind: an SMTP error may quote the message it refused.
					const e = err as { code?: string; responseCode?: number };
					count(this.broker, "mtk.mail.total", { result: "failed" });
					this.logger.warn(
						`Mail could not be sent (${this.transportKind}): ${e.code ?? "error"}${e.responseCode ? ` ${e.responseCode}` : ""}`
					);
					throw new Errors.MoleculerError(
						"The mail could not be sent",
						502,
						"MAIL_NOT_SENT",
						{ code: e.code ?? null, responseCode: e.responseCode ?? null }
					);
				}
			}
		}
	},

	methods: {
		/** One file per message, readable only by this user: it holds a live link. */
		async writeToOutbox(this: MailThis, message: Buffer): Promise<void> {
			await mkdir(this.outbox, { recursive: true, mode: 0o700 });
			const stamp = new Date().toISOString().replace(/[:.]/g, "-");
			const file = join(this.outbox, `${stamp}-${randomBytes(4).toString("hex")}.eml`);
			await writeFile(file, message, { mode: 0o600, flag: "wx" });
		}
	},

	created(this: MailThis) {
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

	started(this: MailThis) {
		this.logger.info(
			this.transportKind === "smtp"
				? "Sending mail over SMTP."
				: `No SMTP_URL: writing mail to ${this.outbox}.`
		);
	},

	stopped(this: MailThis) {
		this.transporter.close();
	}
};

export default MailService;
