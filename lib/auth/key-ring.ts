/**
 * One auth node's view of the signing keys (lib/auth/signing-keys): loaded from the shared store,
 * reloaded every `reloadMs` and when a token names a key it does not know (a key another node just
 * made). Those reloads start at most once a second, so garbage `kid`s cannot make it hammer the
 * store: a token arriving within that second waits for the next reload, shared by every token
 * waiting, rather than being refused while its key may already be in the store. Private keys are
 * opened once.
 */
import type { KeyObject } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { SigningKeyStore } from "./store/signing-key-store";
import {
	jwksOf,
	keyRingState,
	newSigningKey,
	privateKeyOf,
	publicKeyOf,
	type AsymmetricAlgorithm,
	type SigningKeyRecord
} from "./signing-keys";

/** Least time between reloads caused by tokens naming an unknown key. */
const UNKNOWN_KEY_RELOAD_MS = 1000;

export interface KeyRingOptions {
	store: SigningKeyStore;
	algorithm: AsymmetricAlgorithm;
	seal(pem: string): string;
	open(sealed: string): string;
	/** How long a retired key keeps verifying: the access tokens' lifetime plus clock skew. */
	graceMs: number;
	reloadMs: number;
	now?: () => number;
	/** Waits `ms`; tests pass one that moves their clock. */
	sleep?: (ms: number) => Promise<unknown>;
}

export interface SigningKey {
	kid: string;
	alg: AsymmetricAlgorithm;
	key: KeyObject;
}

export class KeyRing {
	private records: SigningKeyRecord[] = [];
	private loadedAt = -Infinity;
	private lastReloadStart = -Infinity;
	/** The unknown-key reload that has not started yet: every token that needs one joins it. */
	private scheduledReload: Promise<void> | null = null;
	private readonly privateKeys = new Map<string, KeyObject>();
	private readonly publicKeys = new Map<string, KeyObject>();
	private readonly now: () => number;

	constructor(private readonly options: KeyRingOptions) {
		this.now = options.now ?? (() => Date.now());
	}

	/** Loads the keys; creates the first one (active at once) when there is none. */
	async start(): Promise<void> {
		await this.reload();
		if (this.records.length === 0) {
			await this.add(this.now());
			await this.reload();
		}
	}

	async reload(): Promise<void> {
		this.lastReloadStart = this.now();
		this.records = await this.options.store.list();
		this.loadedAt = this.now();
	}

	/**
	 * A reload that starts after this call (so it sees any key stored before the token that asked),
	 * no sooner than a second after the last one started.
	 */
	private reloadForUnknownKey(): Promise<void> {
		if (this.scheduledReload) return this.scheduledReload;
		const wait = Math.max(0, this.lastReloadStart + UNKNOWN_KEY_RELOAD_MS - this.now());
		const sleeping = wait > 0 ? (this.options.sleep ?? sleep)(wait) : Promise.resolve();
		const reload = sleeping.then(() => {
			this.scheduledReload = null;
			return this.reload();
		});
		this.scheduledReload = reload;
		return reload;
	}

	private state() {
		return keyRingState(this.records, this.now(), this.options.graceMs);
	}

	/** The key that signs now. */
	async signingKey(): Promise<SigningKey> {
		if (this.now() - this.loadedAt > this.options.reloadMs) await this.reload();
		const current = this.state().current;
		if (!current) throw new Error("No signing key is active yet");
		let key = this.privateKeys.get(current._id);
		if (!key) {
			key = privateKeyOf(current, s => this.options.open(s));
			this.privateKeys.set(current._id, key);
		}
		return { kid: current._id, alg: current.alg, key };
	}

	/** The public key of `kid` while it verifies; null for a key unknown or past its grace. */
	async verificationKey(kid: string): Promise<Omit<SigningKey, "kid"> | null> {
		let record = this.state().verifying.find(r => r._id === kid);
		if (!record) {
			await this.reloadForUnknownKey();
			record = this.state().verifying.find(r => r._id === kid);
		}
		if (!record) return null;
		let key = this.publicKeys.get(kid);
		if (!key) {
			key = publicKeyOf(record);
			this.publicKeys.set(kid, key);
		}
		return { alg: record.alg, key };
	}

	/** The JWKS: every key that verifies, the coming one included. */
	jwks(): { keys: unknown[] } {
		return jwksOf(this.state().verifying);
	}

	/** A new key, published now, signing from `activatesAt`. */
	async add(activatesAt: number): Promise<SigningKeyRecord> {
		const { record } = await newSigningKey(
			this.options.algorithm,
			this.now(),
			activatesAt,
			pem => this.options.seal(pem)
		);
		await this.options.store.insert(record);
		await this.reload();
		return record;
	}

	/** Deletes keys retired past their grace; returns how many. */
	async removeExpired(): Promise<number> {
		await this.reload();
		const expired = this.state().expired.map(r => r._id);
		if (expired.length === 0) return 0;
		const removed = await this.options.store.remove(expired);
		await this.reload();
		return removed;
	}

	/** For the REPL and tests: each key with what it does now. */
	describe(): { kid: string; alg: string; status: string; activatesAt: string }[] {
		const { current, verifying } = this.state();
		return this.records.map(r => ({
			kid: r._id,
			alg: r.alg,
			status:
				r._id === current?._id
					? "current"
					: r.activatesAt > this.now()
						? "next"
						: verifying.includes(r)
							? "retired"
							: "expired",
			activatesAt: new Date(r.activatesAt).toISOString()
		}));
	}
}
