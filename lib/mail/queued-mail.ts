/**
 * A mail on its way from `auth` to `mail` through the durable queue (lib/mail/mail-queue). Its body
 * holds a live link or code, and every service on the NATS server can read the queue's subjects, so
 * the mail travels sealed (AES-256-GCM, lib/common/sealed-box) under a key only `auth` and `mail`
 * derive from MAIL_QUEUE_SECRET, bound to the mail's id: a sealed body copied under another id does
 * not open. The id travels in clear: it is what redeliveries and duplicates are recognised by.
 */
import { randomUUID } from "node:crypto";
import { SealedBox } from "../common/sealed-box";

export interface MailContent {
	to: string;
	subject: string;
	text: string;
	html?: string;
}

export interface QueuedMail extends MailContent {
	/** Unique per request to send: the queue's message id, the SMTP Message-ID, the dedupe key. */
	id: string;
}

/** A fresh mail id: letters, digits and dashes only, so it is a valid JetStream KV key too. */
export function newMailId(): string {
	return randomUUID();
}

export const MAIL_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

export class MailSealer {
	private readonly box: SealedBox;

	constructor(secret: string, previousSecrets: readonly string[] = []) {
		this.box = new SealedBox(secret, "mail-queue", previousSecrets);
	}

	seal(mail: QueuedMail): Uint8Array {
		const { id, ...content } = mail;
		return Buffer.from(this.box.seal(JSON.stringify(content), id), "utf8");
	}

	/** Throws (SealedBoxError) for a body sealed under another key or id, or tampered with. */
	open(id: string, sealed: Uint8Array): QueuedMail {
		const content = JSON.parse(
			this.box.open(Buffer.from(sealed).toString("utf8"), id)
		) as MailContent;
		return { id, ...content };
	}
}

export type DeliveryFailureDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * What to do after the `attempt`-th delivery of a mail failed: try again after a delay that doubles
 * from `baseDelayMs` (capped at `maxDelayMs`), or, after `maxAttempts`, give up to the dead letters.
 */
export function afterFailedDelivery(
	attempt: number,
	policy: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number }
): DeliveryFailureDecision {
	if (attempt >= policy.maxAttempts) return { retry: false };
	const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
	return { retry: true, delayMs };
}
