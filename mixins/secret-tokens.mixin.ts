/**
 * A service that mints tokens and stores only their HMAC under TOKEN_SALT (`tokens`, `links`,
 * `pools`): the salts and the hasher (lib/tokens/hasher) built once per service, and its token
 * prefixes checked when the schema is merged (settings.types[].prefix, or settings.prefix), so a
 * bad or shared prefix stops the node at start, not at the first token.
 */
import { typedMixin } from "../lib/broker/typed-mixin";
import { tokenSalts } from "../lib/config/secrets";
import { dataDirFromEnv } from "../lib/config/env";
import { assertValidPrefix } from "../lib/tokens/format";
import { TokenHasher } from "../lib/tokens/hasher";

export interface SecretTokensOwner {
	hasher: TokenHasher;
	/** TOKEN_SALT and TOKEN_SALT_PREVIOUS, e.g. for keys derived from them (pools' sealed box). */
	salts: { current: string; previous: string[] };
}

interface PrefixSettings {
	dataDir?: string;
	prefix?: string;
	types?: Record<string, { prefix: string }>;
}

/** Every prefix the settings mint, each valid and none shared. */
export function assertValidPrefixes(settings: PrefixSettings): void {
	const named: [string, string][] = settings.types
		? Object.entries(settings.types).map(([name, t]) => [name, t.prefix])
		: settings.prefix !== undefined
			? [["prefix", settings.prefix]]
			: [];
	const seen = new Set<string>();
	for (const [name, prefix] of named) {
		assertValidPrefix(prefix);
		if (seen.has(prefix)) throw new Error(`Token types share the prefix "${prefix}" (${name})`);
		seen.add(prefix);
	}
}

const SecretTokensMixin = typedMixin<PrefixSettings, unknown, SecretTokensOwner>({
	merged(schema) {
		assertValidPrefixes(schema.settings ?? {});
	},

	created() {
		const dataDir = this.settings.dataDir ?? dataDirFromEnv(process.env);
		this.salts = tokenSalts(dataDir, message => this.logger.warn(message));
		this.hasher = new TokenHasher(this.salts.current, this.salts.previous);
	}
});

export default SecretTokensMixin;
