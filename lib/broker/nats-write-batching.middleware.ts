/**
 * Sends the NATS packets of one event-loop turn together.
 *
 * nats.js flushes its outbound buffer in a microtask after the first publish, so a busy node makes
 * one socket write per packet. Profiles of the HTTP benchmark showed those writes as a third of the
 * busy CPU of the `auth` node (~20 µs each on loopback here) and the largest single item in the
 * gateway's. Handing the packets queued during a turn to the transporter from one `setImmediate`
 * lets nats.js write them at once. A packet waits at most until the end of the current turn; order
 * is kept, and each send's promise settles with the transporter's own result, so a publish on a
 * closed connection still fails the call that made it. Other transporters are left alone.
 */
import { Transporters, type Middleware } from "moleculer";

type Send = (topic: string, data: Buffer, meta: object) => Promise<void>;

interface QueuedPacket {
	topic: string;
	data: Buffer;
	meta: object;
	resolve(): void;
	reject(err: unknown): void;
}

/** `send` that queues packets and passes them to `send` from one `setImmediate` per turn. */
export function batchPerTurn(send: Send): Send {
	let queued: QueuedPacket[] = [];
	let scheduled = false;
	const flush = () => {
		scheduled = false;
		const packets = queued;
		queued = [];
		for (const packet of packets) {
			try {
				send(packet.topic, packet.data, packet.meta).then(packet.resolve, packet.reject);
			} catch (err) {
				packet.reject(err);
			}
		}
	};
	return (topic, data, meta) =>
		new Promise<void>((resolve, reject) => {
			queued.push({ topic, data, meta, resolve, reject });
			if (!scheduled) {
				scheduled = true;
				setImmediate(flush);
			}
		});
}

const NatsWriteBatchingMiddleware = {
	name: "NatsWriteBatching",
	// moleculer calls this with the transporter as `this`.
	transporterSend(this: unknown, next: Send): Send {
		// NATS_BATCH_WRITES=false: one write per packet, as nats.js does by itself (for comparison).
		const enabled = process.env.NATS_BATCH_WRITES !== "false";
		return enabled && this instanceof Transporters.NATS ? batchPerTurn(next) : next;
	}
} as unknown as Middleware;

export default NatsWriteBatchingMiddleware;
