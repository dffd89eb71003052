/**
 * Tokens are stored only as HMAC-SHA256(salt, token). The current salt hashes new tokens; previous
 * salts stay accepted for lookups, so rotating TOKEN_SALT does not invalidate live tokens: they keep
 * working until they expire (or are removed), and new ones use the new salt.
 */
import { createHmac, createSecretKey, type KeyObject } from "node:crypto";

export class TokenHasher {
	private readonly salts: readonly string[];
	/** The salts as key objects, made once: createHmac with a string prepares the key every call. */
	private readonly keys: readonly KeyObject[];

	constructor(currentSalt: string, previousSalts: readonly string[] = []) {
		if (!currentSalt) throw new Error("TokenHasher needs a non-empty salt");
		// De-duplicate so a salt listed twice does not cost a second HMAC per lookup.
		this.salts = [currentSalt, ...previousSalts.filter(s => s && s !== currentSalt)].filter(
			(s, i, all) => all.indexOf(s) === i
		);
		this.keys = this.salts.map(salt => createSecretKey(Buffer.from(salt, "utf8")));
	}

	/** The hash to store for a new token (current salt). */
	hash(token: string): string {
		return createHmac("sha256", this.keys[0]).update(token).digest("base64url");
	}

	/** Every hash the token may be stored under, current salt first. */
	candidates(token: string): string[] {
		if (this.salts.length === 1) return [this.hash(token)];
		return this.keys.map(key => createHmac("sha256", key).update(token).digest("base64url"));
	}

	get saltCount(): number {
		return this.salts.length;
	}
}
