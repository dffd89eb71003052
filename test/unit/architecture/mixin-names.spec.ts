/**
 * Moleculer merges mixins' methods with Object.assign, so two mixins of one service defining the
 * same method (or action, or event handler) would shadow each other without a word. Every name is
 * defined once per service, in its own schema or in exactly one mixin (issue 31).
 */
import type { ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import ApiService from "../../../services/api/api.service";
import AuditService from "../../../services/audit.service";
import AuthService from "../../../services/auth/auth.service";
import LinksService from "../../../services/links.service";
import MailService from "../../../services/mail.service";
import PoolsService from "../../../services/pools.service";
import TokensService from "../../../services/tokens/tokens.service";

type Schema = Partial<ServiceSchema> & { mixins?: Schema[] };

/** Libraries' schemas, whose methods a service overrides on purpose (moleculer-web's hooks). */
const LIBRARY_MIXINS = new Set<unknown>([ApiGateway]);

/** Each schema of a service (its mixins, theirs, and itself) with the names it defines. */
function definitions(schema: Schema, where = "the service"): { where: string; names: string[] }[] {
	const own = (["actions", "methods", "events"] as const).flatMap(part =>
		Object.keys((schema[part] as object | undefined) ?? {}).map(name => `${part}.${name}`)
	);
	return [
		...(schema.mixins ?? [])
			.filter(m => !LIBRARY_MIXINS.has(m))
			.flatMap((mixin, i) =>
				definitions(
					mixin,
					`${where} > mixin ${i} (${Object.keys(mixin.actions ?? {})[0] ?? Object.keys(mixin.methods ?? {})[0] ?? "?"})`
				)
			),
		{ where, names: own }
	];
}

describe.each([
	["api", ApiService],
	["audit", AuditService],
	["auth", AuthService],
	["links", LinksService],
	["mail", MailService],
	["pools", PoolsService],
	["tokens", TokensService]
] as [string, Schema][])("the %s service", (_name, service) => {
	it("defines every action, method and event handler in one place", () => {
		const seen = new Map<string, string>();
		const twice: string[] = [];
		for (const { where, names } of definitions(service)) {
			for (const name of names) {
				const first = seen.get(name);
				if (first !== undefined) twice.push(`${name}: ${first} and ${where}`);
				else seen.set(name, where);
			}
		}
		expect(twice).toEqual([]);
	});
});

it("the auth service is made of a dozen or more mixins, so the check above has something to check", () => {
	expect(definitions(AuthService as Schema).length).toBeGreaterThan(12);
});
