/**
 * How `auth` hands a mail to `mail`. With MAIL_QUEUE_URL set, through the durable JetStream queue
 * (lib/mail/mail-queue): the mail is stored, sealed, before the hand-over answers, and waits there
 * while no mail node runs. Without it (the embedded single-process default), by calling mail.send.
 */
import { type Context } from "moleculer";
import { dataDirFromEnv } from "../../../lib/config/env";
import { mailQueueSecret } from "../../../lib/config/secrets";
import { count } from "../../../lib/broker/project-metrics";
import { MailQueue } from "../../../lib/mail/mail-queue";
import { newMailId, type MailContent } from "../../../lib/mail/queued-mail";
import { authMixin } from "../auth-internals";
import type { AuthThis } from "../auth-internals";

/** Publishes are retried with the same id: JetStream drops the repeat, so none is sent twice. */
const PUBLISH_ATTEMPTS = 3;

const MailHandoverMixin = authMixin({
	methods: {
		async handOverMail(this: AuthThis, ctx: Context, mail: MailContent): Promise<void> {
			if (!this.mailQueue) {
				// Through the broker, not ctx: the action that asked has answered, its deadline passed.
				await this.broker.call("mail.send", mail, {
					requestID: ctx.requestID ?? undefined
				});
				return;
			}
			const queued = { id: newMailId(), ...mail };
			for (let attempt = 1; ; attempt++) {
				try {
					await this.mailQueue.publish(queued);
					count(this.broker, "mtk.mail.queue.total", { outcome: "queued" });
					return;
				} catch (err) {
					if (attempt >= PUBLISH_ATTEMPTS) {
						count(this.broker, "mtk.mail.queue.total", { outcome: "not_queued" });
						throw err;
					}
					await new Promise(resolve => setTimeout(resolve, 200 * attempt));
				}
			}
		}
	},

	async started(this: AuthThis) {
		this.mailQueue = null;
		const config = this.settings.mailQueue;
		if (!config.url) return;
		const dataDir = this.settings.dataDir ?? dataDirFromEnv(process.env);
		this.mailQueue = await MailQueue.open(
			config,
			mailQueueSecret(dataDir, m => this.logger.warn(m))
		);
		this.logger.info(`Handing mails over through the JetStream queue ${config.stream}.`);
	},

	async stopped(this: AuthThis) {
		// The mails still being prepared go out first.
		await Promise.allSettled([...this.pending]);
		await this.mailQueue?.close();
	}
});

export default MailHandoverMixin;
