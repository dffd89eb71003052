/**
 * OpenAPI 3 description of the gateway's routes, served at GET /api/openapi.json. Summaries and
 * answers are written here; what a route takes (request bodies, query and path parameters) is
 * generated from the parameters of the action it calls (lib/http/openapi-params), so it cannot
 * drift from what the action enforces. test/integration/api/openapi.spec.ts holds the document
 * to the route table (lib/http/route-table) and to the actions.
 */
import { allRoutes } from "./route-table";
import { bodySchemaOfParams, parametersOfParams, type ParamsSchema } from "./openapi-params";
import { str, obj, json, responses, ADMIN_SECURITY, OK, COMPONENTS } from "./openapi-parts";
import { ME_PATHS } from "./openapi-me";
import { AUTH_PATHS } from "./openapi-auth";
import { ADMIN_PATHS } from "./openapi-admin";
import { ADMIN_USER_PATHS } from "./openapi-admin-users";
import { PAGE_PATHS } from "./openapi-pages";
import { COOKIE_ACTIONS, READS_REFRESH_COOKIE } from "./session-cookies";

/** Route groups whose bodies are forms, as RFC 7662 and RFC 7009 have them. */
const FORM_GROUPS = new Set(["introspection", "revocation"]);

/** An action's parameter schema by name, e.g. from the broker's registry; undefined if unknown. */
export type ActionParamsLookup = (action: string) => ParamsSchema | undefined;

/**
 * The document. With `actionParams`, what each action route takes comes from its action's own
 * parameters; without, from the hand-written fallbacks below.
 */
export function buildOpenApiDocument(
	publicUrl: string,
	actionParams?: ActionParamsLookup
): Record<string, unknown> {
	// A copy: the path constants are shared, and describeActionInputs writes into the operations.
	const doc = structuredClone(staticDocument(publicUrl));
	if (actionParams) describeActionInputs(doc, actionParams);
	assignOperationIds(doc);
	return doc;
}

/**
 * An `operationId` on every operation, for generated clients: the action it calls (`auth.signIn`
 * → `authSignIn`) or the gateway's handler (`health`, `verifyEmailPage`), with the method when one
 * name serves two operations (`healthHead`), and the path's parameter when one action serves two
 * paths (`redeemActionLinkByToken`).
 */
function assignOperationIds(doc: Record<string, unknown>): void {
	const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
	const taken = new Set<string>();
	for (const route of allRoutes()) {
		const op = paths[openApiPath(route.fullPath)]?.[route.method.toLowerCase()];
		if (!op) continue;
		const base = route.action
			? route.action.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase())
			: route.handler!;
		const param = /:(\w+)$/.exec(route.fullPath)?.[1];
		const candidates = [
			base,
			`${base}${route.method[0]}${route.method.slice(1).toLowerCase()}`,
			param ? `${base}By${param[0].toUpperCase()}${param.slice(1)}` : `${base}2`
		];
		const id = candidates.find(c => !taken.has(c)) ?? `${base}${taken.size}`;
		taken.add(id);
		op.operationId = id;
	}
}

/** Replaces each action route's inputs with those its action declares. */
function describeActionInputs(doc: Record<string, unknown>, actionParams: ActionParamsLookup) {
	const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
	for (const route of allRoutes()) {
		const params = route.action && actionParams(route.action);
		if (!params) continue;
		const op = paths[openApiPath(route.fullPath)]?.[route.method.toLowerCase()];
		if (!op) continue;
		const pathParams = [...route.fullPath.matchAll(/:(\w+)/g)].map(m => m[1]);
		if (route.method === "GET" || route.method === "DELETE") {
			delete op.requestBody;
			op.parameters = parametersOfParams(params, pathParams);
		} else {
			const media = FORM_GROUPS.has(route.group)
				? "application/x-www-form-urlencoded"
				: "application/json";
			op.requestBody = {
				required: true,
				content: {
					[media]: {
						schema: withCookieFlag(
							route.action!,
							bodySchemaOfParams(params, pathParams)
						)
					}
				}
			};
			op.parameters = parametersOfParams(params, pathParams).filter(p => p.in === "path");
		}
	}
}

/**
 * The gateway's own body field on the routes that can use cookie sessions; where the refresh cookie
 * can stand in for `refreshToken`, the body need not name it.
 */
function withCookieFlag(action: string, schema: Record<string, unknown>): Record<string, unknown> {
	if (!COOKIE_ACTIONS.has(action)) return schema;
	const properties = {
		...(schema.properties as Record<string, unknown>),
		cookie: {
			type: "boolean",
			description:
				"Set the tokens as HttpOnly cookies (mtk_access, mtk_refresh) instead of returning them"
		}
	};
	const { required: declared, ...rest } = schema;
	const required = ((declared as string[] | undefined) ?? []).filter(
		name => !(READS_REFRESH_COOKIE.has(action) && name === "refreshToken")
	);
	return { ...rest, properties, ...(required.length ? { required } : {}) };
}

/** `/api/pools/:pool` as OpenAPI writes it: `/api/pools/{pool}`. */
export function openApiPath(path: string): string {
	return path.replace(/:(\w+)/g, "{$1}");
}

/** The gateway's own paths: probes, the JWKS, RFC 7662 and 7009, and this document. */
const GATEWAY_PATHS: Record<string, unknown> = {
	"/health": {
		get: {
			summary: "The process is up",
			responses: { 200: { description: "OK", content: json(obj({ status: str() })) } }
		}
	},
	"/ready": {
		get: {
			summary: "tokens and auth are reachable",
			responses: {
				200: {
					description: "Ready",
					content: json(obj({ ready: {}, services: {} }))
				},
				503: {
					description: "Not ready",
					content: json(obj({ ready: {}, services: {} }))
				}
			}
		}
	},
	"/.well-known/jwks.json": {
		get: {
			summary: "The public keys that verify access tokens (RFC 7517), cacheable",
			responses: {
				200: {
					description: "JWK Set",
					content: {
						"application/jwk-set+json": {
							schema: obj({ keys: { type: "array", items: {} } })
						}
					}
				}
			}
		}
	},
	"/oauth2/introspect": {
		post: {
			summary:
				"RFC 7662 token introspection: ADMIN_TOKEN, or an API key with the introspect scope",
			security: ADMIN_SECURITY,
			requestBody: {
				required: true,
				content: {
					"application/x-www-form-urlencoded": {
						schema: obj({ token: str(), token_type_hint: str() }, ["token"])
					}
				}
			},
			responses: responses(
				{
					200: {
						description:
							"{ active, sub, scope, exp, iat, token_type, client_id? }, or { active: false }",
						content: json(obj({ active: { type: "boolean" } }))
					}
				},
				401,
				403
			)
		}
	},
	"/oauth2/revoke": {
		post: {
			summary: "RFC 7009 revocation: 200 for any well-formed request, whatever the token",
			requestBody: {
				required: true,
				content: {
					"application/x-www-form-urlencoded": {
						schema: obj({ token: str(), token_type_hint: str() }, ["token"])
					}
				}
			},
			responses: responses({ 200: { description: "OK", content: json(OK) } })
		}
	},
	"/api/openapi.json": {
		get: {
			summary: "This document",
			responses: { 200: { description: "OpenAPI 3 document", content: json({}) } }
		}
	}
};

function staticDocument(publicUrl: string): Record<string, unknown> {
	return {
		openapi: "3.0.3",
		info: {
			title: "moleculer-tokens gateway",
			version: "0.1.0",
			description:
				"Sign-up, sign-in and API keys for users; token and pool administration for " +
				"trusted callers; the pages behind the links in our mails."
		},
		servers: [{ url: publicUrl }],
		components: COMPONENTS,
		paths: {
			...GATEWAY_PATHS,

			...AUTH_PATHS,

			...ME_PATHS,

			...ADMIN_PATHS,

			...ADMIN_USER_PATHS,

			...PAGE_PATHS
		}
	};
}
