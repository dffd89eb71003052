/**
 * Mail that survives a mail-node outage: `auth` (with `tokens`) and `mail` as separate
 * moleculer-runner processes over the real NATS server, handing mails over through the JetStream
 * queue (MAIL_QUEUE_URL), delivered to a real SMTP server.
 *
 * 1. No mail node while a user signs up: the mail waits in the queue, sealed, and arrives once a mail
 *    node starts.
 * 2. The mail node is SIGKILLed in the middle of an SMTP exchange: a new node sends the mail again,
 *    and it arrives once.
 * 3. A recipient the SMTP server refuses: after MAIL_QUEUE_MAX_ATTEMPTS the mail is a dead letter,
 *    still sealed, with the failure's kind.
 */
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import { createTestBroker, removeDir, tempDataDir } from "../helpers/broker";
import { describeWithNats, NATS_URL, natsTransporter, uniqueNamespace } from "../helpers/nats";
import { buildOnce, startNode, type NodeProcess } from "../helpers/process";
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from "../helpers/smtp";
import { mailQueueNames } from "../../lib/mail/mail-queue";
import { setTimeout as sleep } from "node:timers/promises";

describeWithNats("mail through the JetStream queue, across separate processes", () => {
	const stream = `MTK_MAIL_E2E_${randomBytes(4).toString("hex")}`;
	const names = mailQueueNames(stream);
	let smtp: TestSmtpServer;
	let dataDir: string;
	let env: Record<string, string>;
	let caller: ServiceBroker;
	let nc: NatsConnection;
	let jsm: JetStreamManager;
	const nodes: NodeProcess[] = [];
	/** SMTP exchanges seen per recipient, accepted or not. */
	const attempts = new Map<string, number>();
	/** Set by a test: the next exchange for this address is held until `release` is called. */
	let hold: { address: string; arrived: () => void; released: Promise<void> } | null = null;

	const startMailNode = (name: string) => {
		const node = startNode(name, "mail", env);
		nodes.push(node);
		return node;
	};

	beforeAll(async () => {
		buildOnce();
		smtp = await startSmtpServer({
			refuse: address => address.startsWith("refused"),
			beforeAccept: async (mail: ReceivedMail) => {
				for (const to of mail.to) attempts.set(to, (attempts.get(to) ?? 0) + 1);
				if (hold && mail.to.includes(hold.address)) {
					const held = hold;
					hold = null;
					held.arrived();
					await held.released;
				}
			}
		});
		dataDir = tempDataDir("moleculer-mail-queue-");
		const namespace = uniqueNamespace("mailq");
		env = {
			TRANSPORTER: NATS_URL,
			NAMESPACE: namespace,
			DATA_DIR: dataDir,
			PUBLIC_URL: "http://127.0.0.1:3999",
			SMTP_URL: smtp.url,
			MAIL_QUEUE_URL: NATS_URL,
			MAIL_QUEUE_STREAM: stream,
			MAIL_QUEUE_SECRET: randomBytes(32).toString("base64url"),
			MAIL_QUEUE_ACK_WAIT: "2",
			MAIL_QUEUE_MAX_ATTEMPTS: "3",
			MAIL_QUEUE_RETRY_DELAY: "1",
			PASSWORD_SCRYPT_N: "1024",
			REQUEST_TIMEOUT: "5000",
			LOGLEVEL: "info"
		};
		nodes.push(startNode("auth-node", "tokens,auth", env));
		caller = createTestBroker({ namespace, nodeID: "caller", transporter: natsTransporter() });
		await caller.start();
		await caller.waitForServices(["auth"], 30_000);
		nc = await connect({ servers: NATS_URL });
		jsm = await nc.jetstreamManager();
	}, 90_000);

	afterAll(async () => {
		await Promise.all(nodes.map(n => n.stop("SIGTERM")));
		await caller?.stop();
		for (const name of [names.stream, names.deadStream, `KV_${names.sentBucket}`]) {
			await jsm?.streams.delete(name).catch(() => undefined);
		}
		await nc?.close();
		await smtp?.close();
		if (dataDir) removeDir(dataDir);
	}, 30_000);

	const signUp = (username: string, email: string) =>
		caller.call("auth.signUp", { username, email, password: "a long enough password" });
	const received = (address: string) => smtp.messages.filter(m => m.to.includes(address));

	it("keeps a mail, sealed, while no mail node runs, and delivers it when one starts", async () => {
		const email = "quinn@example.test";
		await signUp("quinn", email);
		const info = async () => (await jsm.streams.info(names.stream)).state.messages;
		for (let i = 0; i < 50 && (await info()) === 0; i++) await sleep(100);
		expect(await info()).toBe(1);
		const stored = await jsm.streams.getMessage(names.stream, { last_by_subj: names.subject });
		const body = Buffer.from(stored.data).toString("utf8");
		expect(body).not.toContain(email);
		expect(body).not.toContain("verify-email");
		expect(received(email)).toHaveLength(0);

		const mailNode = startMailNode("mail-1");
		const mail = await smtp.waitFor(m => m.to.includes(email), 30_000);
		expect(mail.text).toContain("/verify-email?token=");
		expect(mail.headers["message-id"]).toMatch(/^<[0-9a-f-]{36}@moleculer-tokens>$/);
		for (let i = 0; i < 50 && (await info()) > 0; i++) await sleep(100);
		expect(await info()).toBe(0);
		expect(mailNode.output()).not.toContain("token=");
	}, 60_000);

	it("sends a mail again after its mail node was killed mid-send, and it arrives once", async () => {
		const email = "kim@example.test";
		let arrived!: () => void;
		const heldArrived = new Promise<void>(resolve => (arrived = resolve));
		let release!: () => void;
		hold = { address: email, arrived, released: new Promise<void>(r => (release = r)) };

		await signUp("kim", email);
		await heldArrived;
		// The message's data is at the server; its 250 is not. Kill the sender now.
		const killed = nodes.find(n => n.name === "mail-1")!;
		expect(await killed.stop("SIGKILL")).toMatchObject({ signal: "SIGKILL" });
		await sleep(300);
		release();
		expect(received(email)).toHaveLength(0);

		startMailNode("mail-2");
		await smtp.waitFor(m => m.to.includes(email), 30_000);
		// Past another acknowledgement wait and a retry: still one.
		await sleep(4000);
		expect(received(email)).toHaveLength(1);
		expect(attempts.get(email)).toBe(2);
	}, 60_000);

	it("turns a mail the server keeps refusing into a dead letter, still sealed", async () => {
		const email = "refused-rex@example.test";
		await signUp("rex", email);
		let dead: Awaited<ReturnType<typeof jsm.streams.getMessage>> | null = null;
		for (let i = 0; i < 150 && !dead; i++) {
			dead = await jsm.streams
				.getMessage(names.deadStream, { last_by_subj: names.deadSubject })
				.catch(() => null);
			if (!dead) await sleep(100);
		}
		expect(dead).not.toBeNull();
		expect(dead!.header.get("Mtk-Failure")).toBe("smtp_550");
		expect(dead!.header.get("Mtk-Attempts")).toBe("3");
		expect(dead!.header.get("Mtk-Mail-Id")).toMatch(/^[0-9a-f-]{36}$/);
		expect(Buffer.from(dead!.data).toString("utf8")).not.toContain(email);
		expect(received(email)).toHaveLength(0);
		expect((await jsm.streams.info(names.stream)).state.messages).toBe(0);
	}, 60_000);
});
