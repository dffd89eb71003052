/**
 * The WebAuthn relying party (passkeys) from the environment: WEBAUTHN_RP_ID (default: the host of
 * PUBLIC_URL), WEBAUTHN_RP_NAME and WEBAUTHN_ORIGINS (default: PUBLIC_URL's origin). Browsers only
 * accept an RP id that is a registrable domain the page's origin is on, so a wrong one fails every
 * ceremony: in production it refuses to start; elsewhere it warns.
 */
import { isIP } from "node:net";
import { isProduction, publicUrlFromEnv } from "../../config/env";

export interface RelyingParty {
	id: string;
	name: string;
	/** Origins whose pages may answer a ceremony (scheme://host[:port]). */
	origins: string[];
}

export function relyingPartyFromEnv(env: NodeJS.ProcessEnv): RelyingParty {
	const publicUrl = new URL(publicUrlFromEnv(env));
	const origins = (env.WEBAUTHN_ORIGINS ?? "")
		.split(",")
		.map(o => o.trim())
		.filter(Boolean)
		.map(o => new URL(o).origin);
	return {
		id: (env.WEBAUTHN_RP_ID || publicUrl.hostname).toLowerCase(),
		name: env.WEBAUTHN_RP_NAME || "moleculer-tokens",
		origins: origins.length > 0 ? origins : [publicUrl.origin]
	};
}

/** What is wrong with a relying party (empty: nothing): an IP id, or origins not on the id. */
export function relyingPartyProblems(rp: RelyingParty): string[] {
	const problems: string[] = [];
	if (isIP(rp.id.replace(/^\[|\]$/g, "")) !== 0) {
		problems.push(`WEBAUTHN_RP_ID "${rp.id}" is an IP address: browsers need a domain name`);
	}
	for (const origin of rp.origins) {
		const host = new URL(origin).hostname.toLowerCase();
		if (host !== rp.id && !host.endsWith(`.${rp.id}`)) {
			problems.push(`origin ${origin} is not on WEBAUTHN_RP_ID "${rp.id}"`);
		}
	}
	return problems;
}

/** Throws in production when the relying party cannot work; else hands the problems to `warn`. */
export function checkRelyingParty(
	rp: RelyingParty,
	env: NodeJS.ProcessEnv,
	warn: (message: string) => void
): void {
	const problems = relyingPartyProblems(rp);
	if (problems.length === 0) return;
	const message = `Passkeys cannot work: ${problems.join("; ")}.`;
	if (isProduction(env)) throw new Error(message);
	warn(message);
}
