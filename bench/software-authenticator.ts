/**
 * A WebAuthn authenticator in software, for tests and the passkey benchmark: ES256 keys from node's crypto, attestation
 * `none` in CBOR, assertions signed over authenticatorData ‖ SHA-256(clientDataJSON). It answers
 * the Level 3 JSON options the server sends with the JSON a browser's `credential.toJSON()` gives,
 * and lets a test bend each part (origin, RP id, counter, signature) to see it refused.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

type Cbor = number | string | Buffer | Cbor[] | Map<number | string, Cbor>;

function head(major: number, length: number): Buffer {
	if (length < 24) return Buffer.from([(major << 5) | length]);
	if (length < 256) return Buffer.from([(major << 5) | 24, length]);
	if (length < 65536) {
		const b = Buffer.alloc(3);
		b[0] = (major << 5) | 25;
		b.writeUInt16BE(length, 1);
		return b;
	}
	const b = Buffer.alloc(5);
	b[0] = (major << 5) | 26;
	b.writeUInt32BE(length, 1);
	return b;
}

/** The CBOR subset attestation objects and COSE keys need. */
export function cbor(value: Cbor): Buffer {
	if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
	if (typeof value === "string") {
		const bytes = Buffer.from(value, "utf8");
		return Buffer.concat([head(3, bytes.length), bytes]);
	}
	if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
	if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
	const parts = [head(5, value.size)];
	for (const [k, v] of value) parts.push(cbor(k), cbor(v));
	return Buffer.concat(parts);
}

const b64url = (b: Buffer) => b.toString("base64url");
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest();

interface Credential {
	id: Buffer;
	privateKey: KeyObject;
	publicKey: KeyObject;
	rpId: string;
	userHandle: string;
	counter: number;
}

/** What a test may bend in one ceremony. */
export interface Bend {
	origin?: string;
	rpId?: string;
	challenge?: string;
	/** The signature counter to claim (default: one more than the last). */
	counter?: number;
	userVerified?: boolean;
	/** Change clientDataJSON after signing. */
	tamper?: boolean;
	/** Answer with this credential id instead (e.g. another user's). */
	credentialId?: string;
}

export interface CreationOptions {
	challenge: string;
	rp: { id?: string; name: string };
	user: { id: string; name: string };
}

export interface RequestOptions {
	challenge: string;
	rpId?: string;
	allowCredentials?: { id: string }[];
}

export class SoftwareAuthenticator {
	readonly credentials: Credential[] = [];

	constructor(
		private readonly origin: string,
		private readonly options: { userVerified?: boolean; counter?: boolean } = {}
	) {}

	private clientData(type: string, challenge: string, bend: Bend): Buffer {
		return Buffer.from(
			JSON.stringify({
				type,
				challenge: bend.challenge ?? challenge,
				origin: bend.origin ?? this.origin,
				crossOrigin: false
			})
		);
	}

	private flags(extra: number, bend: Bend): number {
		const uv = bend.userVerified ?? this.options.userVerified ?? true;
		// UP, UV when verified, BE|BS (a synced passkey), and `extra`.
		return 0x01 | (uv ? 0x04 : 0) | 0x08 | 0x10 | extra;
	}

	/** navigator.credentials.create, answered as credential.toJSON(). */
	create(options: CreationOptions, bend: Bend = {}) {
		const rpId = bend.rpId ?? options.rp.id ?? new URL(this.origin).hostname;
		const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
		const jwk = publicKey.export({ format: "jwk" });
		const cose = cbor(
			new Map<number, Cbor>([
				[1, 2],
				[3, -7],
				[-1, 1],
				[-2, Buffer.from(jwk.x!, "base64url")],
				[-3, Buffer.from(jwk.y!, "base64url")]
			])
		);
		const id = randomBytes(16);
		const length = Buffer.alloc(2);
		length.writeUInt16BE(id.length);
		const counter = Buffer.alloc(4);
		const authData = Buffer.concat([
			sha256(rpId),
			Buffer.from([this.flags(0x40, bend)]),
			counter,
			Buffer.alloc(16),
			length,
			id,
			cose
		]);
		const attestationObject = cbor(
			new Map<string, Cbor>([
				["fmt", "none"],
				["attStmt", new Map()],
				["authData", authData]
			])
		);
		this.credentials.push({
			id,
			privateKey,
			publicKey,
			rpId,
			userHandle: options.user.id,
			counter: 0
		});
		const clientDataJSON = this.clientData("webauthn.create", options.challenge, bend);
		return {
			id: b64url(id),
			rawId: b64url(id),
			type: "public-key",
			authenticatorAttachment: "platform",
			clientExtensionResults: {},
			response: {
				clientDataJSON: b64url(clientDataJSON),
				attestationObject: b64url(attestationObject),
				transports: ["internal", "hybrid"]
			}
		};
	}

	/** navigator.credentials.get with the newest (or an allowed) credential, as toJSON() gives it. */
	get(options: RequestOptions, bend: Bend = {}) {
		const allowed = new Set((options.allowCredentials ?? []).map(c => c.id));
		const credential =
			[...this.credentials]
				.reverse()
				.find(c => allowed.size === 0 || allowed.has(b64url(c.id))) ??
			this.credentials[this.credentials.length - 1];
		const counting = this.options.counter ?? true;
		const counter = bend.counter ?? (counting ? credential.counter + 1 : 0);
		if (bend.counter === undefined) credential.counter = counter;
		const counterBytes = Buffer.alloc(4);
		counterBytes.writeUInt32BE(counter);
		const authData = Buffer.concat([
			sha256(bend.rpId ?? options.rpId ?? credential.rpId),
			Buffer.from([this.flags(0, bend)]),
			counterBytes
		]);
		let clientDataJSON = this.clientData("webauthn.get", options.challenge, bend);
		const signature = sign(
			"sha256",
			Buffer.concat([authData, sha256(clientDataJSON)]),
			credential.privateKey
		);
		if (bend.tamper) {
			clientDataJSON = Buffer.from(
				clientDataJSON.toString().replace('"crossOrigin":false', '"crossOrigin":true')
			);
		}
		const id = bend.credentialId ?? b64url(credential.id);
		return {
			id,
			rawId: id,
			type: "public-key",
			authenticatorAttachment: "platform",
			clientExtensionResults: {},
			response: {
				clientDataJSON: b64url(clientDataJSON),
				authenticatorData: b64url(authData),
				signature: b64url(signature),
				userHandle: credential.userHandle
			}
		};
	}
}
