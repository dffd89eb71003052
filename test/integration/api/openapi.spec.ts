/**
 * The OpenAPI document against the route table and the actions: every route documented, nothing
 * documented that is not routed, and every input constraint the action enforces stated as it is.
 */
import type { ServiceSchema } from "moleculer";
import AuthService from "../../../services/auth/auth.service";
import LinksService from "../../../services/links.service";
import AuditService from "../../../services/audit.service";
import MailService from "../../../services/mail.service";
import PoolsService from "../../../services/pools.service";
import { COOKIE_ACTIONS, READS_REFRESH_COOKIE } from "../../../lib/http/session-cookies";
import { openApiPath } from "../../../lib/http/openapi";
import { schemaOfRule } from "../../../lib/http/openapi-params";
import { allRoutes } from "../../../lib/http/route-table";
import { FAST_SCRYPT } from "../../helpers/auth";
import { withSettings } from "../../helpers/broker";
import { startGateway, type TestGateway } from "../../helpers/gateway";
import { request } from "../../helpers/http";

type Operation = {
	requestBody?: { content: Record<string, { schema: Schema }> };
	parameters?: { name: string; in: string; required: boolean; schema: Schema }[];
};
type Schema = { properties?: Record<string, Schema>; required?: string[] } & Record<
	string,
	unknown
>;

describe("OpenAPI document", () => {
	let gw: TestGateway;
	let paths: Record<string, Record<string, Operation>>;

	beforeAll(async () => {
		gw = await startGateway({
			services: [
				dataDir => withSettings(AuthService, { dataDir, password: FAST_SCRYPT }),
				() => MailService,
				dataDir => withSettings(AuditService, { dataDir }),
				dataDir => withSettings(PoolsService, { dataDir }) as unknown as ServiceSchema,
				dataDir => withSettings(LinksService, { dataDir }) as unknown as ServiceSchema
			]
		});
		paths = (await request(`${gw.url}/api/openapi.json`)).body as never;
		paths = (paths as unknown as { paths: typeof paths }).paths;
	});

	afterAll(async () => {
		await gw?.stop();
	});

	const documented = () =>
		Object.entries(paths).flatMap(([path, ops]) =>
			Object.keys(ops).map(m => `${m.toUpperCase()} ${path}`)
		);
	const routed = () =>
		allRoutes()
			.filter(r => r.method !== "HEAD")
			.map(r => `${r.method} ${openApiPath(r.fullPath)}`);

	it("documents every route of the table, and only those", () => {
		expect(documented().sort()).toEqual(routed().sort());
	});

	it("states each action's inputs as the action enforces them", () => {
		let checked = 0;
		for (const route of allRoutes().filter(r => r.action)) {
			const action = gw.broker.registry
				.getActionList({ skipInternal: true })
				.find((a: { name: string }) => a.name === route.action) as
				{ action: { params: Record<string, unknown> } } | undefined;
			expect(`${route.action}: ${action ? "registered" : "missing"}`).toBe(
				`${route.action}: registered`
			);
			const op = paths[openApiPath(route.fullPath)][route.method.toLowerCase()];
			const params = action!.action.params;
			const content = op.requestBody?.content;
			const body = content && Object.values(content)[0].schema;
			for (const [name, rule] of Object.entries(params)) {
				if (name.startsWith("$$")) continue;
				const inBody = body?.properties?.[name];
				const asParameter = op.parameters?.find(p => p.name === name);
				const described = inBody ?? asParameter?.schema;
				expect(
					`${route.method} ${route.fullPath} ${name}: ${described ? "documented" : "missing"}`
				).toBe(`${route.method} ${route.fullPath} ${name}: documented`);
				expect(described).toEqual(schemaOfRule(rule));
				const optional =
					typeof rule === "object" &&
					rule !== null &&
					((rule as { optional?: boolean }).optional === true ||
						(rule as { default?: unknown }).default !== undefined);
				const required = inBody
					? (body?.required ?? []).includes(name)
					: asParameter!.required;
				// The refresh cookie stands in for a missing refreshToken (cookie sessions).
				const cookieStandsIn =
					READS_REFRESH_COOKIE.has(route.action!) && name === "refreshToken";
				expect(`${name} required: ${required}`).toBe(
					`${name} required: ${(!optional || asParameter?.in === "path") && !cookieStandsIn}`
				);
				checked++;
			}
			if (COOKIE_ACTIONS.has(route.action!)) {
				expect(body?.properties?.cookie).toMatchObject({ type: "boolean" });
			}
		}
		expect(checked).toBeGreaterThan(40);
	});

	it("states the limits a client must know (the constraints that had drifted)", () => {
		const body = (path: string, method = "post") =>
			paths[path][method].requestBody!.content["application/json"].schema.properties!;
		expect(body("/api/auth/sign-in").login).toMatchObject({ maxLength: 254 });
		expect(body("/api/auth/sign-in").password).toMatchObject({ maxLength: 1024 });
		expect(body("/api/me/api-keys").scopes).toMatchObject({ maxItems: 32 });
		expect(body("/api/me/api-keys").expiry).toMatchObject({ maximum: 10 * 365 * 86400 });
		// Token types are a setting, not a fixed list.
		const configured = Object.keys(
			(gw.broker.getLocalService("tokens") as unknown as { settings: { types: object } })
				.settings.types
		);
		expect(body("/api/tokens").type).toEqual({ type: "string", enum: configured });
	});
});
