/**
 * Benchmark fixture: a `tokens` service on a file-backed embedded store (or the settings' PostgreSQL),
 * pre-filled with live tokens.
 * Filling goes straight to the store (skipping the broker) so a 100,000-token fixture takes seconds;
 * the records are made exactly as `tokens.generate` makes them.
 */
import { randomUUID } from "node:crypto";
import { ServiceBroker, type BrokerOptions } from "moleculer";
import brokerConfig from "../moleculer.config";
import { RedactingValidator } from "../lib/broker/redacting-validator";
import { createToken } from "../lib/tokens/format";
import type { TokenHasher } from "../lib/tokens/hasher";
import type { TokenRecord, TokenStore } from "../lib/tokens/store/token-store";
import TokensService from "../services/tokens/tokens.service";

export interface Fixture {
	broker: ServiceBroker;
	/** Plaintext api-key tokens that exist in the store. */
	tokens: string[];
}

/** A broker as the project configures one (moleculer.config.ts), quiet, with these options. */
export function benchBroker(options: Partial<BrokerOptions>): ServiceBroker {
	return new ServiceBroker({
		...brokerConfig,
		logger: false,
		validator: new RedactingValidator(),
		...options
	});
}

/** The benchmark's caller node on NATS: it only calls. */
export function natsCaller(namespace: string, url: string, options: Partial<BrokerOptions> = {}) {
	return benchBroker({
		namespace,
		nodeID: "bench-caller",
		transporter: { type: "NATS", options: { url } },
		...options
	});
}

export async function startTokensNode(
	dataDir: string,
	options: Partial<BrokerOptions> = {},
	settings: Record<string, unknown> = {}
): Promise<ServiceBroker> {
	const broker = benchBroker(options);
	broker.createService({
		...TokensService,
		settings: { ...TokensService.settings, dataDir, ...settings }
	});
	await broker.start();
	return broker;
}

export async function fillTokens(
	broker: ServiceBroker,
	count: number,
	batch = 5000
): Promise<string[]> {
	const tokens = Array.from({ length: count }, () => createToken("mtk"));
	await insertTokens(broker, tokens, batch);
	return tokens;
}

/** Stores these plaintext api-key tokens (e.g. the same ones on every node of a cluster bench). */
export async function insertTokens(
	broker: ServiceBroker,
	tokens: string[],
	batch = 5000
): Promise<void> {
	const service = broker.getLocalService("tokens") as unknown as {
		store: TokenStore;
		hasher: TokenHasher;
	};
	const now = Date.now();
	for (let done = 0; done < tokens.length; done += batch) {
		const records: TokenRecord[] = [];
		for (let i = done; i < Math.min(tokens.length, done + batch); i++) {
			records.push({
				_id: randomUUID(),
				type: "api-key",
				owner: `owner-${i % 10000}`,
				hash: service.hasher.hash(tokens[i]),
				name: null,
				scopes: [],
				data: null,
				createdAt: now,
				expiresAt: null,
				lastUsedAt: null
			});
		}
		// Through the store, as `generate` writes (its group commit makes these few large appends).
		await Promise.all(records.map(r => service.store.insert(r)));
	}
}
