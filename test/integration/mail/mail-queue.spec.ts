/**
 * The mail service taking mails from the JetStream queue (lib/mail/mail-queue) on the real NATS
 * server, delivering to a real SMTP server: what a redelivery finds after a node sent a mail and
 * died before acknowledging it, and what JetStream does with a repeated hand-over.
 */
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import MailService from "../../../services/mail.service";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../../helpers/broker";
import { describeWithNats, NATS_URL } from "../../helpers/nats";
import { startSmtpServer, type TestSmtpServer } from "../../helpers/smtp";
import { MailQueue, mailQueueNames } from "../../../lib/mail/mail-queue";
import { newMailId } from "../../../lib/mail/queued-mail";
import type { MailQueueConfig } from "../../../lib/config/env";
import { setTimeout as sleep } from "node:timers/promises";

describeWithNats("mail service on the JetStream queue", () => {
	const secret = randomBytes(32).toString("base64url");
	const config: MailQueueConfig = {
		url: NATS_URL,
		stream: `MTK_MAIL_IT_${randomBytes(4).toString("hex")}`,
		ackWait: 2,
		maxAttempts: 3,
		retryDelay: 1
	};
	const names = mailQueueNames(config.stream);
	let smtp: TestSmtpServer;
	let dataDir: string;
	let publisher: MailQueue;
	let broker: ServiceBroker | null = null;
	let nc: NatsConnection;
	let jsm: JetStreamManager;

	beforeAll(async () => {
		smtp = await startSmtpServer();
		dataDir = tempDataDir();
		publisher = await MailQueue.open(config, secret);
		nc = await connect({ servers: NATS_URL });
		jsm = await nc.jetstreamManager();
	});

	afterEach(async () => {
		await broker?.stop();
		broker = null;
	});

	afterAll(async () => {
		await publisher?.close();
		for (const name of [names.stream, names.deadStream, `KV_${names.sentBucket}`]) {
			await jsm?.streams.delete(name).catch(() => undefined);
		}
		await nc?.close();
		await smtp?.close();
		removeDir(dataDir);
	});

	const startMailService = async () => {
		process.env.MAIL_QUEUE_SECRET = secret;
		try {
			broker = createTestBroker();
			broker.createService(
				withSettings(MailService, { smtpUrl: smtp.url, dataDir, queue: config })
			);
			await broker.start();
		} finally {
			delete process.env.MAIL_QUEUE_SECRET;
		}
	};
	const mail = (to: string) => ({
		id: newMailId(),
		to,
		subject: "Your link",
		text: `https://example.test/magic-link?token=mtm_${randomBytes(8).toString("hex")}`
	});
	const queued = async () => (await jsm.streams.info(names.stream)).state.messages;

	it("acknowledges without sending a mail that a node sent before it died unacknowledged", async () => {
		const alreadySent = mail("sent-before@example.test");
		const fresh = mail("fresh@example.test");
		await publisher.publish(alreadySent);
		// What a node leaves behind when it dies between SMTP's 250 and its acknowledgement.
		const js = nc.jetstream();
		const sent = await js.views.kv(names.sentBucket);
		await sent.put(alreadySent.id, "1");
		await publisher.publish(fresh);

		await startMailService();
		const got = await smtp.waitFor(m => m.to.includes(fresh.to), 15_000);
		expect(got.text.trim()).toBe(fresh.text);
		for (let i = 0; i < 50 && (await queued()) > 0; i++) await sleep(100);
		expect(await queued()).toBe(0);
		expect(smtp.messages.filter(m => m.to.includes(alreadySent.to))).toHaveLength(0);
		expect(await sent.get(fresh.id)).not.toBeNull();
	});

	it("keeps one copy of a mail handed over twice (a retried publish)", async () => {
		const twice = mail("twice@example.test");
		await publisher.publish(twice);
		await publisher.publish(twice);
		await startMailService();
		await smtp.waitFor(m => m.to.includes(twice.to), 15_000);
		await sleep(2500);
		expect(smtp.messages.filter(m => m.to.includes(twice.to))).toHaveLength(1);
	});

	it("sends 40 mails handed over at once, each once, several at a time", async () => {
		const batch = Array.from({ length: 40 }, (_, i) => mail(`batch-${i}@example.test`));
		await Promise.all(batch.map(m => publisher.publish(m)));
		await startMailService();
		for (const m of batch) await smtp.waitFor(got => got.to.includes(m.to), 15_000);
		await sleep(500);
		for (const m of batch) {
			expect(smtp.messages.filter(got => got.to.includes(m.to))).toHaveLength(1);
		}
		expect(await queued()).toBe(0);
	});

	it("sends nothing sealed under another secret: it goes to the dead letters as unreadable", async () => {
		const other = await MailQueue.open(config, randomBytes(32).toString("base64url"));
		const forged = mail("forged@example.test");
		try {
			await other.publish(forged);
		} finally {
			await other.close();
		}
		await startMailService();
		let dead = null;
		for (let i = 0; i < 50 && !dead; i++) {
			dead = await jsm.streams
				.getMessage(names.deadStream, { last_by_subj: names.deadSubject })
				.catch(() => null);
			if (!dead) await sleep(100);
		}
		expect(dead?.header.get("Mtk-Mail-Id")).toBe(forged.id);
		expect(dead?.header.get("Mtk-Failure")).toBe("unreadable");
		expect(smtp.messages.filter(m => m.to.includes(forged.to))).toHaveLength(0);
	});
});
