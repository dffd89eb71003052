/**
 * Asymmetric signing keys of the access tokens (EdDSA/Ed25519 or ES256), rotated without a flag day:
 * a new key is published in the JWKS at once and signs from `activatesAt` on (after JWKS caches had
 * time to fetch it); the key before it then retires, and keeps verifying until the last token it
 * signed has expired. Every state follows from the stored records and the clock, so every auth node
 * agrees without coordinating, and nothing is ever updated in place.
 *
 * Private keys are stored sealed (AES-256-GCM, lib/common/sealed-box), never in clear; the JWKS
 * carries public keys only.
 */
import {
	createPrivateKey,
	createPublicKey,
	generateKeyPairSync,
	type JsonWebKey,
	type KeyObject
} from "node:crypto";
import { calculateJwkThumbprint } from "jose";

export type AsymmetricAlgorithm = "EdDSA" | "ES256";
export type JwtAlgorithm = AsymmetricAlgorithm | "HS256";

export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ["EdDSA", "ES256", "HS256"];

/** JWT_ALGORITHM: EdDSA (Ed25519) unless set; HS256 keeps an existing deployment's tokens as they are. */
export function jwtAlgorithmFromEnv(env: NodeJS.ProcessEnv): JwtAlgorithm {
	const value = env.JWT_ALGORITHM || "EdDSA";
	if (!JWT_ALGORITHMS.includes(value as JwtAlgorithm)) {
		throw new Error(
			`JWT_ALGORITHM must be one of ${JWT_ALGORITHMS.join(", ")}, not "${value}"`
		);
	}
	return value as JwtAlgorithm;
}

export interface SigningKeyRecord {
	/** The key id (`kid`): the RFC 7638 thumbprint of the public key. */
	_id: string;
	alg: AsymmetricAlgorithm;
	/** The public key as a JWK (kty, crv, x[, y]): what the JWKS publishes. */
	publicJwk: JsonWebKey;
	/** The private key (PKCS #8 PEM), sealed. */
	sealedPrivateKey: string;
	createdAt: number;
	/** From when it signs (epoch ms). */
	activatesAt: number;
}

export interface NewSigningKey {
	record: SigningKeyRecord;
	privateKey: KeyObject;
}

/** A new key pair; `seal` turns the private key's PEM into what is stored. */
export async function newSigningKey(
	alg: AsymmetricAlgorithm,
	now: number,
	activatesAt: number,
	seal: (pem: string) => string
): Promise<NewSigningKey> {
	const { privateKey, publicKey } =
		alg === "EdDSA"
			? generateKeyPairSync("ed25519")
			: generateKeyPairSync("ec", { namedCurve: "P-256" });
	const publicJwk = publicKey.export({ format: "jwk" });
	const kid = await calculateJwkThumbprint(publicJwk as never);
	const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
	return {
		record: {
			_id: kid,
			alg,
			publicJwk,
			sealedPrivateKey: seal(pem),
			createdAt: now,
			activatesAt
		},
		privateKey
	};
}

export interface KeyRingState {
	/** The key that signs now: the latest whose activation has come. Null: none yet. */
	current: SigningKeyRecord | null;
	/** Keys that still verify: the ones to come, the current one, and retired ones in their grace. */
	verifying: SigningKeyRecord[];
	/** Retired past their grace: no token they signed is alive; may be deleted. */
	expired: SigningKeyRecord[];
}

/**
 * Sorts the keys by activation (ties by id, as every node does) and says which signs, which
 * verify and which are done. A key retires when the next one activates and verifies for `graceMs`
 * (the access tokens' lifetime and the clock skew) after that.
 */
export function keyRingState(
	records: readonly SigningKeyRecord[],
	now: number,
	graceMs: number
): KeyRingState {
	const sorted = [...records].sort(
		(a, b) => a.activatesAt - b.activatesAt || a._id.localeCompare(b._id)
	);
	let currentIndex = -1;
	sorted.forEach((r, i) => {
		if (r.activatesAt <= now) currentIndex = i;
	});
	const verifying: SigningKeyRecord[] = [];
	const expired: SigningKeyRecord[] = [];
	sorted.forEach((r, i) => {
		if (i >= currentIndex) return verifying.push(r);
		const retiredAt = sorted[i + 1].activatesAt;
		(retiredAt + graceMs > now ? verifying : expired).push(r);
	});
	return { current: currentIndex >= 0 ? sorted[currentIndex] : null, verifying, expired };
}

/** The JWKS document (RFC 7517) of the keys that verify: public parts only. */
export function jwksOf(records: readonly SigningKeyRecord[]): { keys: JsonWebKey[] } {
	return {
		keys: records.map(r => ({
			kty: r.publicJwk.kty,
			...(r.publicJwk.crv ? { crv: r.publicJwk.crv } : {}),
			x: r.publicJwk.x,
			...(r.publicJwk.y ? { y: r.publicJwk.y } : {}),
			kid: r._id,
			alg: r.alg,
			use: "sig"
		}))
	};
}

export function publicKeyOf(record: SigningKeyRecord): KeyObject {
	return createPublicKey({ key: record.publicJwk, format: "jwk" });
}

export function privateKeyOf(
	record: SigningKeyRecord,
	open: (sealed: string) => string
): KeyObject {
	return createPrivateKey(open(record.sealedPrivateKey));
}
