import {
	MailSealer,
	afterFailedDelivery,
	newMailId,
	MAIL_ID_PATTERN
} from "../../../lib/mail/queued-mail";
import { mailQueueFromEnv } from "../../../lib/config/env";

const SECRET = "a-mail-queue-secret-of-32-characters!";

describe("queued mail", () => {
	const mail = {
		id: newMailId(),
		to: "ann@example.test",
		subject: "Sign in",
		text: "https://example.test/magic-link?token=mtm_secret",
		html: "<a href='https://example.test/magic-link?token=mtm_secret'>Sign in</a>"
	};

	it("seals a mail so that neither the address nor the link shows, and opens it again", () => {
		const sealer = new MailSealer(SECRET);
		const sealed = Buffer.from(sealer.seal(mail)).toString("utf8");
		expect(sealed).not.toContain("ann@");
		expect(sealed).not.toContain("mtm_secret");
		expect(new MailSealer(SECRET).open(mail.id, Buffer.from(sealed))).toEqual(mail);
	});

	it("opens nothing under another id or another secret", () => {
		const sealed = new MailSealer(SECRET).seal(mail);
		expect(() => new MailSealer(SECRET).open(newMailId(), sealed)).toThrow();
		expect(() => new MailSealer(`${SECRET}-other`).open(mail.id, sealed)).toThrow();
		expect(new MailSealer(`${SECRET}-new`, [SECRET]).open(mail.id, sealed)).toEqual(mail);
	});

	it("makes ids that are valid message ids and KV keys", () => {
		const ids = new Set(Array.from({ length: 100 }, newMailId));
		expect(ids.size).toBe(100);
		for (const id of ids) expect(id).toMatch(MAIL_ID_PATTERN);
		expect(MAIL_ID_PATTERN.test("a.b")).toBe(false);
		expect(MAIL_ID_PATTERN.test("")).toBe(false);
	});

	it("retries with a doubling delay, capped, then gives up after the last attempt", () => {
		const policy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 5000 };
		expect([1, 2, 3, 4].map(a => afterFailedDelivery(a, policy))).toEqual([
			{ retry: true, delayMs: 1000 },
			{ retry: true, delayMs: 2000 },
			{ retry: true, delayMs: 4000 },
			{ retry: true, delayMs: 5000 }
		]);
		expect(afterFailedDelivery(5, policy)).toEqual({ retry: false });
		expect(afterFailedDelivery(9, policy)).toEqual({ retry: false });
		expect(afterFailedDelivery(1, { ...policy, maxAttempts: 1 })).toEqual({ retry: false });
	});
});

describe("mailQueueFromEnv", () => {
	it("is off without MAIL_QUEUE_URL, with the documented defaults", () => {
		expect(mailQueueFromEnv({})).toEqual({
			url: null,
			stream: "MTK_MAIL",
			ackWait: 30,
			maxAttempts: 5,
			retryDelay: 5
		});
	});

	it("names the variable it refuses", () => {
		expect(() => mailQueueFromEnv({ MAIL_QUEUE_URL: "http://x" })).toThrow(/MAIL_QUEUE_URL/);
		expect(() => mailQueueFromEnv({ MAIL_QUEUE_STREAM: "a.b" })).toThrow(/MAIL_QUEUE_STREAM/);
		expect(() => mailQueueFromEnv({ MAIL_QUEUE_ACK_WAIT: "0" })).toThrow(/MAIL_QUEUE_ACK_WAIT/);
		expect(() => mailQueueFromEnv({ MAIL_QUEUE_MAX_ATTEMPTS: "x" })).toThrow(
			/MAIL_QUEUE_MAX_ATTEMPTS/
		);
		expect(mailQueueFromEnv({ MAIL_QUEUE_URL: "nats://127.0.0.1:4222" }).url).toBe(
			"nats://127.0.0.1:4222"
		);
	});
});
