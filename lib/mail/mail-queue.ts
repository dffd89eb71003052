/**
 * The durable hand-over of mails from `auth` to `mail` on NATS JetStream.
 *
 * - Stream `<stream>` (work queue, on disk) holds mails until a mail node acknowledges them, so a
 *   mail handed over while no mail node runs waits for one. Publishing names the mail id as the
 *   message id: JetStream drops a repeat within two minutes, so a publish may be retried.
 * - A mail node acknowledges only after the SMTP server accepted the mail, and tells JetStream it is
 *   still working while SMTP is slow. A node that dies mid-send leaves the mail to be redelivered.
 * - The ids of sent mails are kept a day in the KV bucket `<stream>_SENT`: a mail redelivered after
 *   it was sent (the acknowledgement was lost) is acknowledged again, not sent twice.
 * - A mail that fails `maxAttempts` times goes, still sealed, to the stream `<stream>_DEAD` with the
 *   failure's kind in its headers, for an operator to inspect (docs/operations.md).
 */
import {
	AckPolicy,
	DeliverPolicy,
	RetentionPolicy,
	StorageType,
	connect,
	headers as natsHeaders,
	nanos,
	type ConsumerMessages,
	type JetStreamClient,
	type JsMsg,
	type KV,
	type NatsConnection
} from "nats";
import type { MailQueueConfig } from "../config/env";
import { MAIL_ID_PATTERN, MailSealer, afterFailedDelivery, type QueuedMail } from "./queued-mail";

const DUPLICATE_WINDOW_MS = 2 * 60_000;
const SENT_TTL_MS = 24 * 3600_000;
const DEAD_LETTER_MAX_AGE_MS = 14 * 24 * 3600_000;
const MAX_RETRY_DELAY_MS = 10 * 60_000;
const CONSUMER = "mail";
/** Mails one node sends at once. */
const SENDS_AT_ONCE = 8;

export type DeliveryOutcome = "sent" | "duplicate" | "retried" | "dead";

/** Only the kind of a failure: SMTP errors may quote the message they refused. */
export type FailureKind = (err: unknown) => string;

export interface MailQueueNames {
	stream: string;
	subject: string;
	deadStream: string;
	deadSubject: string;
	sentBucket: string;
}

export function mailQueueNames(stream: string): MailQueueNames {
	return {
		stream,
		subject: `${stream}.send`,
		deadStream: `${stream}_DEAD`,
		deadSubject: `${stream}.dead`,
		sentBucket: `${stream}_SENT`
	};
}

export class MailQueue {
	private consumer: ConsumerMessages | null = null;
	private consuming: Promise<void> | null = null;

	private constructor(
		private readonly nc: NatsConnection,
		private readonly js: JetStreamClient,
		private readonly sent: KV,
		private readonly sealer: MailSealer,
		private readonly config: MailQueueConfig,
		readonly names: MailQueueNames
	) {}

	/** Connects and creates the streams and the bucket if they are missing (safe on every node). */
	static async open(config: MailQueueConfig, secret: string): Promise<MailQueue> {
		if (!config.url) throw new Error("MAIL_QUEUE_URL is not set");
		const nc = await connect({
			servers: config.url,
			name: "mail-queue",
			maxReconnectAttempts: -1
		});
		try {
			const names = mailQueueNames(config.stream);
			const jsm = await nc.jetstreamManager();
			// Mails wait on disk until a mail node takes them; dead letters are kept for a while.
			await ensureStream(jsm, names.stream, names.subject, {
				retention: RetentionPolicy.Workqueue,
				duplicate_window: nanos(DUPLICATE_WINDOW_MS)
			});
			await ensureStream(jsm, names.deadStream, names.deadSubject, {
				retention: RetentionPolicy.Limits,
				max_age: nanos(DEAD_LETTER_MAX_AGE_MS)
			});
			const js = nc.jetstream();
			const sent = await js.views.kv(names.sentBucket, { ttl: SENT_TTL_MS, history: 1 });
			return new MailQueue(nc, js, sent, new MailSealer(secret), config, names);
		} catch (err) {
			await nc.close();
			throw err;
		}
	}

	/** Hands one mail over; resolves once JetStream has stored it. */
	async publish(mail: QueuedMail): Promise<void> {
		if (!MAIL_ID_PATTERN.test(mail.id)) throw new Error("A mail id is letters, digits and '-'");
		await this.js.publish(this.names.subject, this.sealer.seal(mail), { msgID: mail.id });
	}

	/**
	 * Delivers the queue's mails with `send` one at a time until close(). `send` resolves once SMTP
	 * accepted the mail; `outcome` hears what became of each.
	 */
	async consume(
		send: (mail: QueuedMail) => Promise<void>,
		outcome: (what: DeliveryOutcome, kind?: string) => void,
		failureKind: FailureKind
	): Promise<void> {
		const jsm = await this.nc.jetstreamManager();
		const ackWaitMs = this.config.ackWait * 1000;
		await jsm.consumers.info(this.names.stream, CONSUMER).catch(() =>
			jsm.consumers.add(this.names.stream, {
				durable_name: CONSUMER,
				ack_policy: AckPolicy.Explicit,
				deliver_policy: DeliverPolicy.All,
				ack_wait: nanos(ackWaitMs),
				// A backstop only: failures are counted and dead-lettered below, but a mail that kills
				// its node each time would otherwise come back for ever.
				max_deliver: this.config.maxAttempts * 2
			})
		);
		const consumer = await this.js.consumers.get(this.names.stream, CONSUMER);
		// As many in the client's buffer as are being sent: a mail waiting there gets no in-progress
		// acks, and one held past the acknowledgement wait would be handed to another node too.
		this.consumer = await consumer.consume({ max_messages: SENDS_AT_ONCE });
		const messages = this.consumer;
		const sending = new Set<Promise<void>>();
		this.consuming = (async () => {
			for await (const msg of messages) {
				const sent: Promise<void> = this.deliver(msg, send, failureKind)
					.then(
						r => outcome(r.outcome, r.kind),
						() => outcome("retried", "queue")
					)
					.finally(() => sending.delete(sent));
				sending.add(sent);
				if (sending.size >= SENDS_AT_ONCE) await Promise.race(sending);
			}
			await Promise.allSettled([...sending]);
		})();
	}

	private async deliver(
		msg: JsMsg,
		send: (mail: QueuedMail) => Promise<void>,
		failureKind: FailureKind
	): Promise<{ outcome: DeliveryOutcome; kind?: string }> {
		const id = msg.headers?.get("Nats-Msg-Id") ?? "";
		if (!MAIL_ID_PATTERN.test(id)) return this.bury(msg, id, "no_id");
		if ((await this.sent.get(id))?.value.length) {
			msg.ack();
			return { outcome: "duplicate" };
		}
		let mail: QueuedMail;
		try {
			mail = this.sealer.open(id, msg.data);
		} catch {
			return this.bury(msg, id, "unreadable");
		}
		// Keeps JetStream from handing the mail to another node while SMTP is slow.
		const working = setInterval(
			() => msg.working(),
			Math.max(200, (this.config.ackWait * 1000) / 3)
		);
		try {
			await send(mail);
		} catch (err) {
			const kind = failureKind(err);
			const decision = afterFailedDelivery(msg.info.deliveryCount, {
				maxAttempts: this.config.maxAttempts,
				baseDelayMs: this.config.retryDelay * 1000,
				maxDelayMs: MAX_RETRY_DELAY_MS
			});
			if (!decision.retry) return this.bury(msg, id, kind);
			msg.nak(decision.delayMs);
			return { outcome: "retried", kind };
		} finally {
			clearInterval(working);
		}
		// Sent: remember it before acknowledging, so a redelivery finds it. Had the bucket failed, the
		// acknowledgement still goes out: the mail was sent, and the ack alone ends its deliveries.
		await this.sent.put(id, "1").catch(() => undefined);
		msg.ack();
		return { outcome: "sent" };
	}

	/** To the dead letters, sealed as it came, with the failure's kind; then off the queue. */
	private async bury(
		msg: JsMsg,
		id: string,
		kind: string
	): Promise<{ outcome: DeliveryOutcome; kind: string }> {
		const h = natsHeaders();
		h.set("Mtk-Mail-Id", id || "none");
		h.set("Mtk-Failure", kind);
		h.set("Mtk-Attempts", String(msg.info.deliveryCount));
		await this.js.publish(this.names.deadSubject, msg.data, { headers: h });
		msg.ack();
		return { outcome: "dead", kind };
	}

	async close(): Promise<void> {
		this.consumer?.stop();
		await this.consuming?.catch(() => undefined);
		await this.nc.drain().catch(() => this.nc.close());
	}
}

type StreamManager = Awaited<ReturnType<NatsConnection["jetstreamManager"]>>;

/** A stream on file of one subject, created unless it exists. */
async function ensureStream(
	jsm: StreamManager,
	name: string,
	subject: string,
	policy: Omit<Parameters<StreamManager["streams"]["add"]>[0], "name" | "subjects" | "storage">
): Promise<void> {
	const config = { name, subjects: [subject], storage: StorageType.File, ...policy };
	try {
		await jsm.streams.info(name);
	} catch {
		// Two nodes may create it at once: the loser's "already in use" is success.
		await jsm.streams.add(config).catch(async err => {
			await jsm.streams.info(name).catch(() => {
				throw err;
			});
		});
	}
}
