/**
 * The two WebAuthn ceremonies (registration, authentication), on @simplewebauthn/server (see
 * docs/decisions.md), without a broker: options in the Level 3 JSON shapes browsers parse
 * (`PublicKeyCredential.parseCreationOptionsFromJSON`…), and verification of the answers.
 *
 * The challenge is a `passkey-challenge` token of the `tokens` service: the token's text is the
 * challenge's bytes, so the answer's clientDataJSON carries it back and `challengeOf` reads it out
 * for `tokens.consume` (single use on any node) before anything is verified.
 */
import { createHmac } from "node:crypto";
import {
	generateAuthenticationOptions,
	generateRegistrationOptions,
	verifyAuthenticationResponse,
	verifyRegistrationResponse,
	type AuthenticationResponseJSON,
	type AuthenticatorTransportFuture,
	type PublicKeyCredentialCreationOptionsJSON,
	type PublicKeyCredentialRequestOptionsJSON,
	type RegistrationResponseJSON
} from "@simplewebauthn/server";
import type { RelyingParty } from "./relying-party";
import type { PasskeyRecord } from "../store/passkey-store";

/** ES256, EdDSA, and RS256 (Windows Hello). */
export const PASSKEY_ALGORITHMS = [-7, -8, -257];
export const CEREMONY_TIMEOUT_MS = 5 * 60 * 1000;

export type { AuthenticationResponseJSON, RegistrationResponseJSON };

/** A user's WebAuthn user handle: random-looking, stable, never the address (HMAC of the id). */
export function userHandleOf(key: Buffer, userId: string): Uint8Array {
	return new Uint8Array(createHmac("sha256", key).update(userId).digest());
}

export function registrationOptions(
	rp: RelyingParty,
	user: { id: string; username: string; handle: Uint8Array },
	existing: PasskeyRecord[],
	challenge: string
): Promise<PublicKeyCredentialCreationOptionsJSON> {
	return generateRegistrationOptions({
		rpName: rp.name,
		rpID: rp.id,
		userName: user.username,
		userDisplayName: user.username,
		userID: new Uint8Array(user.handle),
		challenge,
		timeout: CEREMONY_TIMEOUT_MS,
		attestationType: "none",
		excludeCredentials: existing.map(p => ({
			id: p._id,
			transports: p.transports as AuthenticatorTransportFuture[]
		})),
		authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
		supportedAlgorithmIDs: PASSKEY_ALGORITHMS
	});
}

export function authenticationOptions(
	rp: RelyingParty,
	allowed: PasskeyRecord[],
	challenge: string
): Promise<PublicKeyCredentialRequestOptionsJSON> {
	return generateAuthenticationOptions({
		rpID: rp.id,
		challenge,
		timeout: CEREMONY_TIMEOUT_MS,
		userVerification: "preferred",
		allowCredentials: allowed.map(p => ({
			id: p._id,
			transports: p.transports as AuthenticatorTransportFuture[]
		}))
	});
}

/** The challenge an answer claims to answer (the token's text), or null if it holds none. */
export function challengeOf(response: { response?: { clientDataJSON?: unknown } }): string | null {
	const encoded = response.response?.clientDataJSON;
	if (typeof encoded !== "string") return null;
	try {
		const clientData = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")) as {
			challenge?: unknown;
		};
		if (typeof clientData.challenge !== "string") return null;
		return Buffer.from(clientData.challenge, "base64url").toString("utf8");
	} catch {
		return null;
	}
}

/** The challenge as it is in clientDataJSON: base64url of the token's text. */
function encodedChallenge(challenge: string): string {
	return Buffer.from(challenge, "utf8").toString("base64url");
}

export interface NewPasskey {
	id: string;
	publicKey: string;
	counter: number;
	transports: string[];
	deviceType: PasskeyRecord["deviceType"];
	backedUp: boolean;
}

/** The library's verdict, or null for any refusal (it throws for most, answers `verified: false` for some). */
async function refusedAsNull<T>(verify: () => Promise<T>): Promise<T | null> {
	try {
		return await verify();
	} catch {
		return null;
	}
}

/**
 * A registration answer checked (origin, RP id, challenge, presence, attestation): the passkey, or
 * null when it does not verify.
 */
export async function verifyRegistration(
	rp: RelyingParty,
	response: RegistrationResponseJSON,
	challenge: string
): Promise<NewPasskey | null> {
	const checked = await refusedAsNull(() =>
		verifyRegistrationResponse({
			response,
			expectedChallenge: encodedChallenge(challenge),
			expectedOrigin: rp.origins,
			expectedRPID: rp.id,
			requireUserVerification: false,
			supportedAlgorithmIDs: PASSKEY_ALGORITHMS
		})
	);
	if (!checked?.verified || !checked.registrationInfo) return null;
	const { registrationInfo } = checked;
	const { credential, credentialDeviceType, credentialBackedUp } = registrationInfo;
	return {
		id: credential.id,
		publicKey: Buffer.from(credential.publicKey).toString("base64url"),
		counter: credential.counter,
		transports: response.response.transports ?? [],
		deviceType: credentialDeviceType,
		backedUp: credentialBackedUp
	};
}

export type AuthenticationVerdict =
	| { result: "valid"; counter: number; userVerified: boolean }
	/** A valid signature with a counter that did not move forward: a cloned authenticator. */
	| { result: "cloned"; counter: number };

/**
 * An authentication answer checked against the stored passkey (origin, RP id hash, challenge, user
 * presence, signature); the counter compared here, after the signature, so that only the
 * authenticator's own answer can mark a passkey cloned. Null: refused.
 */
export async function verifyAuthentication(
	rp: RelyingParty,
	response: AuthenticationResponseJSON,
	challenge: string,
	passkey: PasskeyRecord
): Promise<AuthenticationVerdict | null> {
	const checked = await refusedAsNull(() =>
		verifyAuthenticationResponse({
			response,
			expectedChallenge: encodedChallenge(challenge),
			expectedOrigin: rp.origins,
			expectedRPID: rp.id,
			credential: {
				id: passkey._id,
				publicKey: new Uint8Array(Buffer.from(passkey.publicKey, "base64url")),
				// The counter is compared below, once the signature is known to be the authenticator's.
				counter: 0
			},
			requireUserVerification: false
		})
	);
	if (!checked?.verified) return null;
	const { authenticationInfo } = checked;
	const counter = authenticationInfo.newCounter;
	if ((counter > 0 || passkey.counter > 0) && counter <= passkey.counter) {
		return { result: "cloned", counter };
	}
	return { result: "valid", counter, userVerified: authenticationInfo.userVerified };
}
