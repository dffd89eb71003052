/**
 * Action parameter schemas travel to other nodes in the registry as JSON, where a RegExp `pattern`
 * becomes `{}`: a gateway on another node than `auth` then described no pattern in its OpenAPI
 * document. Every pattern is given to fastest-validator as its source and flags instead (which it
 * compiles the same way), on a copy of the parameters, so the constants they came from stay as
 * they are.
 */
import type { Middleware, Service, ServiceSchema } from "moleculer";

/** A copy of `rule` with every RegExp `pattern` as `pattern` (source) and `patternFlags`. */
export function portableRule(rule: unknown): unknown {
	if (Array.isArray(rule)) return rule.map(portableRule);
	if (rule === null || typeof rule !== "object" || rule instanceof RegExp) return rule;
	if (Object.getPrototypeOf(rule) !== Object.prototype) return rule;
	const copy: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(rule)) {
		if (key === "pattern" && value instanceof RegExp) {
			copy.pattern = value.source;
			if (value.flags) copy.patternFlags = value.flags;
		} else {
			copy[key] = portableRule(value);
		}
	}
	return copy;
}

const PortableParamsMiddleware: Middleware = {
	name: "PortableParams",
	serviceCreating(_service: Service, schema: ServiceSchema) {
		for (const action of Object.values(schema.actions ?? {})) {
			if (action && typeof action === "object" && "params" in action && action.params) {
				action.params = portableRule(action.params) as typeof action.params;
			}
		}
	}
};

export default PortableParamsMiddleware;
