/**
 * The token contract's calls by name (generate, check, consume, remove), on whichever broker
 * `broker()` answers when the test runs: suites restart their broker.
 */
import type { ServiceBroker } from "moleculer";
import type { TokenEntity } from "../../lib/tokens/token-types";

export type Generated = TokenEntity & { token: string };

export function tokenCalls(broker: () => ServiceBroker) {
	const call = (action: string) => (type: string, token: string) =>
		broker().call<TokenEntity | null, object>(`tokens.${action}`, { type, token });
	return {
		generate: (type: string, owner: string) =>
			broker().call<Generated, object>("tokens.generate", { type, owner }),
		check: call("check"),
		consume: call("consume"),
		remove: call("remove")
	};
}
