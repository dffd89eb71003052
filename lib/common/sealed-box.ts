/**
 * Encryption at rest for secrets that must be handed out again later (pool tokens), so they cannot
 * be stored only as a hash. AES-256-GCM from Node's crypto, with a key derived by HKDF-SHA256 from a
 * master secret (TOKEN_SALT) and a purpose label (`info`, e.g. "pools"): a key for one purpose opens
 * nothing sealed for another, and the master secret itself never encrypts anything.
 *
 * Sealed form: `v1.<keyId>.<iv>.<ciphertext>.<tag>`, each part base64url. The key id (8 characters of
 * a hash of the key, not of the secret) says which key sealed a value, so rotating the master secret
 * keeps old values readable while the previous secret is still listed. The caller's `context` (e.g.
 * the record's id) is authenticated as additional data: a sealed value copied onto another record
 * does not open there.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";

const VERSION = "v1";
const ALGORITHM = "aes-256-gcm";
const KEY_BYTES = 32;
/** 96-bit nonces, GCM's recommended size; random per value (far below the 2^32 values per key bound). */
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Fixed HKDF salt: domain separation from any other use of the same master secret. */
const HKDF_SALT = "moleculer-tokens/sealed-box/v1";

interface SealingKey {
	id: string;
	key: Buffer;
}

export class SealedBoxError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "SealedBoxError";
	}
}

export function deriveKey(secret: string, info: string): Buffer {
	if (!secret) throw new Error("SealedBox needs a non-empty secret");
	if (!info) throw new Error("SealedBox needs a purpose label (info)");
	return Buffer.from(hkdfSync("sha256", secret, HKDF_SALT, info, KEY_BYTES));
}

function keyIdOf(key: Buffer): string {
	return createHash("sha256").update(key).digest("base64url").slice(0, 8);
}

export class SealedBox {
	private readonly keys: readonly SealingKey[];

	/**
	 * @param secret current master secret: seals new values
	 * @param info purpose label, e.g. "pools"
	 * @param previousSecrets older master secrets: values they sealed still open
	 */
	constructor(secret: string, info: string, previousSecrets: readonly string[] = []) {
		const secrets = [secret, ...previousSecrets.filter(Boolean)].filter(
			(s, i, all) => all.indexOf(s) === i
		);
		this.keys = secrets.map(s => {
			const key = deriveKey(s, info);
			return { id: keyIdOf(key), key };
		});
	}

	seal(plaintext: string, context = ""): string {
		const { id, key } = this.keys[0];
		const iv = randomBytes(IV_BYTES);
		const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
		cipher.setAAD(Buffer.from(context, "utf8"));
		const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
		return [
			VERSION,
			id,
			iv.toString("base64url"),
			ciphertext.toString("base64url"),
			cipher.getAuthTag().toString("base64url")
		].join(".");
	}

	/** The plaintext; throws SealedBoxError (never echoing the value) if it does not open. */
	open(sealed: string, context = ""): string {
		const parts = sealed.split(".");
		if (parts.length !== 5 || parts[0] !== VERSION) {
			throw new SealedBoxError("Not a sealed value of a known version");
		}
		const [, keyId, iv, ciphertext, tag] = parts;
		const entry = this.keys.find(k => k.id === keyId);
		if (!entry) throw new SealedBoxError("Sealed with a key that is no longer configured");
		const ivBytes = Buffer.from(iv, "base64url");
		const tagBytes = Buffer.from(tag, "base64url");
		if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) {
			throw new SealedBoxError("Malformed sealed value");
		}
		try {
			const decipher = createDecipheriv(ALGORITHM, entry.key, ivBytes, {
				authTagLength: TAG_BYTES
			});
			decipher.setAAD(Buffer.from(context, "utf8"));
			decipher.setAuthTag(tagBytes);
			return Buffer.concat([
				decipher.update(Buffer.from(ciphertext, "base64url")),
				decipher.final()
			]).toString("utf8");
		} catch {
			throw new SealedBoxError("Sealed value does not authenticate");
		}
	}

	/** True when the value was sealed with the current key (false: re-seal it when convenient). */
	isCurrent(sealed: string): boolean {
		return sealed.split(".")[1] === this.keys[0].id;
	}
}
