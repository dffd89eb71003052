/**
 * Hostile text in every string parameter of every route and every action, on both stores (the
 * embedded one and PostgreSQL, which refuses U+0000 and lone surrogates that NeDB keeps): U+0000,
 * lone surrogates, overlong UTF-8 in form bodies, RTL marks, 4-byte characters; and bodies that do
 * not decompress. Nothing answers 500 or more, and no circuit breaker opens. The routes come from
 * the route table and the parameters from the registry, so a new route or parameter is covered
 * without editing this file.
 */
import { Errors, type ServiceBroker, type ServiceSchema } from "moleculer";
import AuditService from "../../../services/audit.service";
import PoolsService from "../../../services/pools.service";
import { allRoutes, type FullRoute } from "../../../lib/http/route-table";
import { authService } from "../../helpers/auth";
import { breakerWatch, withSettings } from "../../helpers/broker";
import {
	storeOn,
	TEST_ADMIN_TOKEN,
	linksAllowing,
	type MailingGateway,
	startMailingGateway
} from "../../helpers/gateway";
import { request } from "../../helpers/http";
import { postgresKinds } from "../../helpers/postgres";

/** What each string parameter gets, one at a time. */
const HOSTILE = [
	"\u0000",
	"x\u0000y",
	"\ud800",
	"tail\udfff",
	"\u202eevil\u202c",
	"\u200f\u05e9\u05dc\u05d5\u05dd",
	"🔑𝕏\u{10FFFF}",
	"\ufeffbom"
];

/** Overlong UTF-8 ("/" as C0 AF, NUL as C0 80) and a lone surrogate's bytes, percent-encoded. */
const OVERLONG_FORM_VALUES = ["%C0%AF", "%C0%80", "%ED%A0%80", "a%00b"];

/**
 * Percent-encoded UTF-8, with a lone surrogate as its three (ill-formed) bytes, which
 * encodeURIComponent refuses to produce but a client can send.
 */
function percentEncoded(value: string): string {
	let out = "";
	for (let i = 0; i < value.length; i++) {
		const unit = value.charCodeAt(i);
		const pair = unit >= 0xd800 && unit <= 0xdbff && /[\udc00-\udfff]/.test(value[i + 1] ?? "");
		if (unit >= 0xd800 && unit <= 0xdfff && !pair) {
			out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
				.map(b => `%${b.toString(16).toUpperCase()}`)
				.join("");
		} else if (pair) {
			out += encodeURIComponent(value.slice(i, i + 2));
			i++;
		} else {
			out += encodeURIComponent(value[i]);
		}
	}
	return out;
}

const kinds = ["nedb" as const, ...postgresKinds<"postgres">("the hostile-input fuzz suite")];

function paramsOf(broker: ServiceBroker, action: string): Record<string, unknown> {
	const found = broker.registry.getActionList({}).find(a => a.name === action);
	return ((found?.action as { params?: Record<string, unknown> })?.params ?? {}) as Record<
		string,
		unknown
	>;
}

/** Parameter names a route's action takes (not moleculer's `$$` options). */
function fieldsOf(broker: ServiceBroker, route: FullRoute): string[] {
	const fromPath = [...route.fullPath.matchAll(/:(\w+)/g)].map(m => m[1]);
	const fromAction = route.action
		? Object.keys(paramsOf(broker, route.action)).filter(k => !k.startsWith("$$"))
		: ["token", "password", "code"];
	return [...new Set([...fromPath, ...fromAction])];
}

describe.each(kinds)("hostile input on every route and action (%s)", kind => {
	let gw: MailingGateway;
	let watch: { opened: unknown[] };
	let session: { accessToken: string };
	const statuses: { what: string; status: number }[] = [];

	beforeAll(async () => {
		gw = await startMailingGateway({
			services: [
				authService({ requireVerifiedEmail: false }),
				linksAllowing("newsletter.subscribe"),
				dataDir => withSettings(PoolsService, { dataDir }) as unknown as ServiceSchema,
				dataDir => withSettings(AuditService, { dataDir }) as unknown as ServiceSchema
			],
			storeSettings: storeOn(kind),
			settings: {
				rateLimit: { window: 60, public: 100_000, user: 100_000, admin: 100_000 }
			}
		});
		watch = breakerWatch(gw.broker);
		await gw.broker.waitForServices(["breaker-watch", "links", "pools", "audit"]);
		const password = "long enough password";
		await gw.broker.call("auth.signUp", {
			username: "fuzzed",
			email: "fuzzed@corp.example",
			password
		});
		session = await gw.broker.call("auth.signIn", { login: "fuzzed", password });
		// The fuzzed account's own budget runs out (wrong passwords to DELETE /api/me…): another
		// one signs in at the end.
		await gw.broker.call("auth.signUp", {
			username: "bystander",
			email: "bystander@corp.example",
			password
		});
	}, 60_000);

	afterAll(async () => {
		await gw?.stop();
	});

	function headersFor(route: FullRoute): Record<string, string> {
		if (route.group === "admin" || route.group === "introspection") {
			return { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
		}
		if (route.group === "me") return { authorization: `Bearer ${session.accessToken}` };
		return {};
	}

	/** The URL with each path parameter set to `value` (percent-encoded), or "x". */
	function urlFor(route: FullRoute, field: string | null, value: string): string {
		const path = route.fullPath.replace(/:(\w+)/g, (_, name: string) =>
			percentEncoded(name === field ? value : "x")
		);
		return `${gw.url}${path}`;
	}

	async function send(route: FullRoute, field: string, value: string): Promise<number> {
		const headers = headersFor(route);
		const inPath = route.fullPath.includes(`:${field}`);
		if (route.method === "GET" || route.method === "HEAD") {
			const query = inPath ? "" : `?${new URLSearchParams({ [field]: value })}`;
			return (
				await request(urlFor(route, field, value) + query, {
					method: route.method,
					headers
				})
			).status;
		}
		const body = inPath ? {} : { [field]: value };
		const form =
			route.group === "pages" ||
			route.group === "introspection" ||
			route.group === "revocation";
		return (
			await request(urlFor(route, field, value), {
				method: route.method,
				headers,
				...(form
					? {
							form: Object.fromEntries(
								Object.entries(body).map(([k, v]) => [k, String(v)])
							)
						}
					: { json: body })
			})
		).status;
	}

	it("answers every route below 500 with hostile text in each of its parameters", async () => {
		for (const route of allRoutes()) {
			for (const field of fieldsOf(gw.broker, route)) {
				for (const value of HOSTILE) {
					const status = await send(route, field, value);
					statuses.push({
						what: `${route.method} ${route.fullPath} ${field}=${JSON.stringify(value)}`,
						status
					});
				}
			}
		}
		expect(statuses.length).toBeGreaterThan(500);
		expect(statuses.filter(s => s.status >= 500)).toEqual([]);
	}, 120_000);

	it("answers overlong UTF-8 in form bodies below 500", async () => {
		const forms = allRoutes().filter(
			r => r.method === "POST" && ["pages", "introspection", "revocation"].includes(r.group)
		);
		for (const route of forms) {
			for (const field of fieldsOf(gw.broker, route)) {
				for (const raw of OVERLONG_FORM_VALUES) {
					const res = await request(urlFor(route, null, "x"), {
						method: "POST",
						headers: {
							...headersFor(route),
							"content-type": "application/x-www-form-urlencoded"
						},
						body: `${field}=${raw}`
					});
					expect([route.fullPath, field, raw, res.status < 500]).toEqual([
						route.fullPath,
						field,
						raw,
						true
					]);
				}
			}
		}
	});

	it("answers bodies that do not decompress with 400 on every route that reads a body", async () => {
		for (const route of allRoutes().filter(r => r.method === "POST" || r.method === "PUT")) {
			for (const encoding of ["gzip", "deflate", "br"]) {
				const res = await request(urlFor(route, null, "x"), {
					method: route.method,
					headers: {
						...headersFor(route),
						"content-type": "application/json",
						"content-encoding": encoding
					},
					body: "not compressed"
				});
				expect([route.fullPath, encoding, res.status < 500]).toEqual([
					route.fullPath,
					encoding,
					true
				]);
			}
		}
	});

	it("answers every action of every service below 500 with hostile text in each parameter", async () => {
		const actions = gw.broker.registry
			.getActionList({ onlyLocal: true, skipInternal: true })
			.map(a => a.name as string)
			.filter(name => !name.startsWith("api.") && !name.startsWith("breaker-watch"));
		expect(actions).toEqual(
			expect.arrayContaining(["tokens.check", "auth.signIn", "pools.assign"])
		);
		const failures: string[] = [];
		for (const action of actions) {
			const fields = Object.keys(paramsOf(gw.broker, action)).filter(
				k => !k.startsWith("$$")
			);
			for (const field of fields) {
				for (const value of HOSTILE) {
					try {
						await gw.broker.call(
							action,
							{ [field]: value },
							{
								meta: {
									ip: "203.0.113.50",
									user: { id: "nobody", scopes: [], via: "jwt" }
								}
							}
						);
					} catch (err) {
						const code = (err as Errors.MoleculerError).code;
						if (
							!(err instanceof Errors.MoleculerError) ||
							!(code >= 400 && code < 500)
						) {
							failures.push(
								`${action} ${field}=${JSON.stringify(value)}: ${String(code)} ${(err as Error).message}`
							);
						}
					}
				}
			}
		}
		expect(failures).toEqual([]);
	}, 120_000);

	it("opened no circuit breaker, and sign-in still works", async () => {
		expect(watch.opened).toEqual([]);
		// From another address: the fuzzing one spent its failure budget, as it should.
		const signedIn = await gw.broker.call(
			"auth.signIn",
			{ login: "bystander", password: "long enough password" },
			{ meta: { ip: "198.51.100.77" } }
		);
		expect(signedIn).toHaveProperty("accessToken");
	});
});
