/**
 * Every error a caller of this project can get, by its `type` (the `type` of a moleculer error, the
 * `type` of the gateway's JSON body): its HTTP status and what it means, gathered from the domains'
 * definitions (lib/<domain>/*-error-types.json). docs/errors.md is generated
 * from it (`npm run docs:generate`); a test holds the code to it (every type thrown is here, with
 * its status, and every type here is thrown).
 */
import authErrorTypes from "../auth/auth-error-types.json";
import brokerErrorTypes from "../broker/broker-error-types.json";
import linkErrorTypes from "../links/link-error-types.json";
import mailErrorTypes from "../mail/mail-error-types.json";
import poolErrorTypes from "../pools/pool-error-types.json";
import storeErrorTypes from "../store/store-error-types.json";
import tokenErrorTypes from "../tokens/token-error-types.json";
import gatewayErrorTypes from "./gateway-error-types.json";

export interface CatalogueEntry {
	type: string;
	status: number;
	meaning: string;
}

/** A domain's error types: status and meaning by type, in the domain's own `*-error-types.json`. */
type ErrorTypes = Record<string, { status: number; meaning: string }>;

/** Each domain defines the types it answers with; a type is defined once, where it is thrown most. */
const ERROR_TYPES_BY_DOMAIN: Readonly<Record<string, ErrorTypes>> = {
	auth: authErrorTypes,
	gateway: gatewayErrorTypes,
	links: linkErrorTypes,
	pools: poolErrorTypes,
	tokens: tokenErrorTypes,
	mail: mailErrorTypes,
	store: storeErrorTypes,
	broker: brokerErrorTypes
};

export const ERROR_CATALOGUE: readonly CatalogueEntry[] = Object.values(
	ERROR_TYPES_BY_DOMAIN
).flatMap(types =>
	Object.entries(types).map(([type, { status, meaning }]) => ({ type, status, meaning }))
);

/** docs/errors.md. */
export function renderErrorCatalogue(): string {
	const rows = [...ERROR_CATALOGUE]
		.sort((a, b) => a.status - b.status || a.type.localeCompare(b.type))
		.map(e => `| \`${e.type}\` | ${e.status} | ${e.meaning.replace(/\|/g, "\\|")} |`);
	return [
		"# Errors",
		"",
		"Every error a caller can get: the `type` of the moleculer error (over the broker) and of the",
		"gateway's JSON body `{ name, message, code, type, data? }` (over HTTP), with its status. Each",
		"domain defines its types in `lib/<domain>/*-error-types.json`; this page is generated from them",
		"(`npm run docs:generate`), and a test fails when the code throws a type that is not listed, with",
		"another status, or when a listed one is thrown nowhere.",
		"",
		"| type | status | meaning |",
		"| --- | --- | --- |",
		...rows,
		""
	].join("\n");
}
