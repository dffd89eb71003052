/**
 * moleculer merges mixins' methods with Object.assign: two mixins of one service defining the same
 * method (or action) name would shadow each other silently. Each name is defined by one mixin at
 * most (nested ones included). The service's own schema may override a library mixin's on purpose
 * (api over moleculer-web's `rest`, `errorHandler`…): that override stands in the service's file.
 */
import type { ServiceSchema } from "moleculer";
import AuthService from "../../../services/auth/auth.service";
import TokensService from "../../../services/tokens/tokens.service";
import ApiService from "../../../services/api/api.service";
import LinksService from "../../../services/links.service";
import PoolsService from "../../../services/pools.service";
import MailService from "../../../services/mail.service";

type Schema = Partial<ServiceSchema> & { mixins?: Schema[] };

/** Every (kind, name) a schema and its mixins define, with where. */
function definitions(schema: Schema, where: string, out: Map<string, string[]>) {
	const own = where === "service";
	for (const kind of own ? [] : (["actions", "methods"] as const)) {
		for (const name of Object.keys((schema[kind] as object | undefined) ?? {})) {
			const key = `${kind}.${name}`;
			out.set(key, [...(out.get(key) ?? []), where]);
		}
	}
	(schema.mixins ?? []).forEach((mixin, i) => definitions(mixin, `${where}>mixin${i}`, out));
	return out;
}

describe("mixins", () => {
	it.each([
		["auth", AuthService],
		["tokens", TokensService],
		["api", ApiService],
		["links", LinksService],
		["pools", PoolsService],
		["mail", MailService]
	])("of %s define each action and method name once", (_name, schema) => {
		const found = definitions(schema as Schema, "service", new Map());
		const twice = [...found].filter(([, where]) => where.length > 1);
		expect(twice).toEqual([]);
	});

	it("finds a name two mixins define", () => {
		const one = { methods: { send() {} } };
		const two = { mixins: [{ methods: { send() {} } }] };
		const found = definitions({ mixins: [one, two] }, "service", new Map());
		expect(found.get("methods.send")).toEqual(["service>mixin0", "service>mixin1>mixin0"]);
	});
});
