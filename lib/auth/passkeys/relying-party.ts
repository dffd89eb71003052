/**
 * The WebAuthn relying party (passkeys) from the environment: WEBAUTHN_RP_ID (default: the host of
 * PUBLIC_URL), WEBAUTHN_RP_NAME and WEBAUTHN_ORIGINS (default: PUBLIC_URL's origin). Browsers only
 * accept an RP id that is a registrable domain the page's origin is on, so a wrong one fails every
 * ceremony. Set explicitly (WEBAUTHN_RP_ID or WEBAUTHN_ORIGINS), a wrong one stops a production node
 * from starting; derived from a PUBLIC_URL that cannot carry passkeys (an IP address), passkeys are
 * off in production (403 PASSKEYS_UNAVAILABLE) and the node starts. Elsewhere it warns.
 */
import { isIP } from "node:net";
import { isProduction, publicUrlFromEnv } from "../../config/env";

export interface RelyingParty {
	id: string;
	name: string;
	/** Origins whose pages may answer a ceremony (scheme://host[:port]). */
	origins: string[];
	/** Whether WEBAUTHN_RP_ID or WEBAUTHN_ORIGINS set it (else it comes from PUBLIC_URL). */
	explicit?: boolean;
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
		origins: origins.length > 0 ? origins : [publicUrl.origin],
		explicit: Boolean(env.WEBAUTHN_RP_ID) || origins.length > 0
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

/**
 * Whether passkeys can be offered: throws in production for an explicit relying party that cannot
 * work; answers false (with a warning) for one derived from PUBLIC_URL in production; elsewhere
 * warns and answers true (a developer's localhost page may still work).
 */
export function checkRelyingParty(
	rp: RelyingParty,
	env: NodeJS.ProcessEnv,
	warn: (message: string) => void
): boolean {
	const problems = relyingPartyProblems(rp);
	if (problems.length === 0) return true;
	const message = `Passkeys cannot work: ${problems.join("; ")}.`;
	if (!isProduction(env)) {
		warn(message);
		return true;
	}
	if (rp.explicit) throw new Error(message);
	warn(`${message} Passkeys are off (set WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS to a domain).`);
	return false;
}
