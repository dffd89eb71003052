import { randomBytes } from "node:crypto";
import * as ceremonies from "../../../lib/auth/passkeys/ceremonies";
import {
	checkRelyingParty,
	relyingPartyFromEnv,
	relyingPartyProblems,
	type RelyingParty
} from "../../../lib/auth/passkeys/relying-party";
import type { PasskeyRecord } from "../../../lib/auth/store/passkey-store";
import { SoftwareAuthenticator } from "../../helpers/software-authenticator";

const rp: RelyingParty = { id: "localhost", name: "Test", origins: ["http://localhost:3000"] };
const handleKey = randomBytes(32);
const user = { id: "u1", username: "ada", handle: ceremonies.userHandleOf(handleKey, "u1") };
const challenge = () => `mtw_${randomBytes(24).toString("base64url")}`;

async function registered(authenticator = new SoftwareAuthenticator("http://localhost:3000")) {
	const token = challenge();
	const options = await ceremonies.registrationOptions(rp, user, [], token);
	const response = authenticator.create(options) as ceremonies.RegistrationResponseJSON;
	const made = await ceremonies.verifyRegistration(rp, response, token);
	const passkey: PasskeyRecord = {
		_id: made!.id,
		userId: "u1",
		name: "laptop",
		publicKey: made!.publicKey,
		counter: made!.counter,
		transports: made!.transports,
		deviceType: made!.deviceType,
		backedUp: made!.backedUp,
		createdAt: 0,
		lastUsedAt: null,
		clonedAt: null
	};
	return { authenticator, passkey };
}

async function assertion(
	authenticator: SoftwareAuthenticator,
	passkey: PasskeyRecord,
	bend: Parameters<SoftwareAuthenticator["get"]>[1] = {}
) {
	const token = challenge();
	const options = await ceremonies.authenticationOptions(rp, [passkey], token);
	return {
		token,
		response: authenticator.get(options, bend) as ceremonies.AuthenticationResponseJSON
	};
}

describe("passkey ceremonies", () => {
	it("offers discoverable, user-verifying creation with the user handle, never the address", async () => {
		const options = await ceremonies.registrationOptions(rp, user, [], challenge());
		expect(options.rp).toEqual({ id: "localhost", name: "Test" });
		expect(options.user.id).toBe(Buffer.from(user.handle).toString("base64url"));
		expect(options.user.id).not.toContain("u1");
		expect(options.authenticatorSelection).toMatchObject({
			residentKey: "required",
			userVerification: "preferred"
		});
		expect(options.attestation).toBe("none");
		expect(options.pubKeyCredParams.map(p => p.alg)).toEqual([-7, -8, -257]);
	});

	it("carries the challenge token through clientDataJSON and back", async () => {
		const token = challenge();
		const options = await ceremonies.registrationOptions(rp, user, [], token);
		const response = new SoftwareAuthenticator("http://localhost:3000").create(options);
		expect(ceremonies.challengeOf(response)).toBe(token);
		expect(ceremonies.challengeOf({ response: { clientDataJSON: "not json" } })).toBeNull();
		expect(ceremonies.challengeOf({})).toBeNull();
	});

	it("registers a passkey and signs in with it, user verified, the counter moving on", async () => {
		const { authenticator, passkey } = await registered();
		expect(passkey).toMatchObject({ deviceType: "multiDevice", backedUp: true, counter: 0 });
		const { token, response } = await assertion(authenticator, passkey);
		expect(await ceremonies.verifyAuthentication(rp, response, token, passkey)).toEqual({
			result: "valid",
			counter: 1,
			userVerified: true
		});
	});

	it("reports a sign-in without user verification as such", async () => {
		const { authenticator, passkey } = await registered();
		const { token, response } = await assertion(authenticator, passkey, {
			userVerified: false
		});
		expect(await ceremonies.verifyAuthentication(rp, response, token, passkey)).toMatchObject({
			result: "valid",
			userVerified: false
		});
	});

	it("refuses a registration from another origin, for another RP id, or for another challenge", async () => {
		const authenticator = new SoftwareAuthenticator("http://localhost:3000");
		const token = challenge();
		const options = await ceremonies.registrationOptions(rp, user, [], token);
		for (const bend of [
			{ origin: "http://evil.example" },
			{ rpId: "evil.example" },
			{ challenge: Buffer.from(challenge()).toString("base64url") }
		]) {
			await expect(
				ceremonies.verifyRegistration(
					rp,
					authenticator.create(options, bend) as ceremonies.RegistrationResponseJSON,
					token
				)
			).resolves.toBeNull();
		}
	});

	it("refuses a sign-in from another origin, for another RP id, to another challenge, or tampered", async () => {
		const { authenticator, passkey } = await registered();
		for (const bend of [
			{ origin: "http://evil.example" },
			{ rpId: "evil.example" },
			{ tamper: true }
		]) {
			const { token, response } = await assertion(authenticator, passkey, bend);
			await expect(
				ceremonies.verifyAuthentication(rp, response, token, passkey)
			).resolves.toBeNull();
		}
		const { response } = await assertion(authenticator, passkey);
		await expect(
			ceremonies.verifyAuthentication(rp, response, challenge(), passkey)
		).resolves.toBeNull();
	});

	it("refuses another credential's answer (its signature does not verify with this key)", async () => {
		const { passkey } = await registered();
		const other = await registered();
		const { token, response } = await assertion(other.authenticator, other.passkey, {
			credentialId: passkey._id
		});
		await expect(
			ceremonies.verifyAuthentication(rp, response, token, passkey)
		).resolves.toBeNull();
	});

	it("calls a counter that did not move forward a clone, once the signature is good", async () => {
		const { authenticator, passkey } = await registered();
		const used = { ...passkey, counter: 5 };
		for (const counter of [5, 3]) {
			const { token, response } = await assertion(authenticator, used, { counter });
			expect(await ceremonies.verifyAuthentication(rp, response, token, used)).toEqual({
				result: "cloned",
				counter
			});
		}
		// An authenticator that keeps no counter (always 0) is not a clone.
		const { token, response } = await assertion(authenticator, passkey, { counter: 0 });
		expect(await ceremonies.verifyAuthentication(rp, response, token, passkey)).toMatchObject({
			result: "valid"
		});
	});
});

describe("the relying party", () => {
	it("defaults to PUBLIC_URL's host and origin", () => {
		expect(relyingPartyFromEnv({ PUBLIC_URL: "https://auth.example.com/" })).toEqual({
			id: "auth.example.com",
			name: "moleculer-tokens",
			origins: ["https://auth.example.com"],
			explicit: false
		});
		expect(
			relyingPartyFromEnv({
				WEBAUTHN_RP_ID: "Example.com",
				WEBAUTHN_ORIGINS: "https://example.com, https://app.example.com/x",
				WEBAUTHN_RP_NAME: "Example"
			})
		).toEqual({
			id: "example.com",
			name: "Example",
			origins: ["https://example.com", "https://app.example.com"],
			explicit: true
		});
	});

	it("names an IP id and origins off the id as problems", () => {
		expect(
			relyingPartyProblems(relyingPartyFromEnv({ PUBLIC_URL: "http://127.0.0.1:3000" }))
		).toEqual([expect.stringContaining("is an IP address")]);
		expect(
			relyingPartyProblems({ id: "example.com", name: "x", origins: ["https://example.org"] })
		).toEqual([expect.stringContaining("https://example.org is not on")]);
		expect(
			relyingPartyProblems({
				id: "example.com",
				name: "x",
				origins: ["https://a.example.com"]
			})
		).toEqual([]);
	});

	it("in production refuses an explicit one that cannot work, and turns passkeys off for a derived one", () => {
		const warnings: string[] = [];
		const production = { NODE_ENV: "production" };
		const derived = relyingPartyFromEnv({ ...production, PUBLIC_URL: "http://10.0.0.5:3000" });
		expect(checkRelyingParty(derived, production, w => warnings.push(w))).toBe(false);
		expect(warnings).toEqual([expect.stringContaining("Passkeys are off")]);
		const explicit = relyingPartyFromEnv({ ...production, WEBAUTHN_RP_ID: "10.0.0.5" });
		expect(() => checkRelyingParty(explicit, production, () => {})).toThrow("IP address");
		// Outside production: a warning, and passkeys stay on.
		expect(checkRelyingParty(explicit, {}, w => warnings.push(w))).toBe(true);
		const fine = relyingPartyFromEnv({ ...production, PUBLIC_URL: "https://example.com" });
		expect(checkRelyingParty(fine, production, () => {})).toBe(true);
	});
});
