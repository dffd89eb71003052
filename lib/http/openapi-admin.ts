/**
 * The OpenAPI paths of the administration routes (tokens and pools), for trusted callers: what
 * each answers. lib/http/openapi.ts assembles the document.
 */
import {
	str,
	obj,
	ref,
	json,
	responses,
	jsonOp,
	ADMIN_SECURITY,
	OK,
	TOKEN_TYPE,
	poolParam,
	poolOp
} from "./openapi-parts";

export const ADMIN_PATHS: Record<string, unknown> = {
	"/api/tokens": {
		post: jsonOp(
			"Generate a token (the plaintext is in the answer, this once)",
			obj(
				{
					type: TOKEN_TYPE,
					owner: str(),
					expiry: { type: "integer" },
					name: str(),
					scopes: { type: "array", items: str() },
					data: { type: "object" }
				},
				["type", "owner"]
			),
			{ allOf: [ref("TokenEntity"), obj({ token: str() })] },
			[401, 403],
			ADMIN_SECURITY
		),
		get: {
			...jsonOp(
				"An owner's tokens",
				null,
				{ type: "array", items: ref("TokenEntity") },
				[401, 403],
				ADMIN_SECURITY
			),
			parameters: [
				{ name: "owner", in: "query", required: true, schema: str() },
				{ name: "type", in: "query", required: false, schema: TOKEN_TYPE }
			]
		},
		delete: {
			...jsonOp(
				"Remove an owner's tokens",
				null,
				obj({ removed: { type: "integer" } }),
				[401, 403],
				ADMIN_SECURITY
			),
			parameters: [
				{ name: "owner", in: "query", required: true, schema: str() },
				{ name: "type", in: "query", required: false, schema: TOKEN_TYPE }
			]
		}
	},
	"/api/tokens/check": {
		post: jsonOp(
			"Check a token: its entity, or null",
			obj(
				{
					type: TOKEN_TYPE,
					token: str(),
					owner: str(),
					isUsed: { type: "boolean" }
				},
				["type", "token"]
			),
			{ ...ref("TokenEntity"), nullable: true },
			[401, 403],
			ADMIN_SECURITY
		)
	},
	"/api/tokens/remove": {
		post: jsonOp(
			"Remove a token: the removed entity, or null",
			obj({ type: TOKEN_TYPE, token: str() }, ["type", "token"]),
			{ ...ref("TokenEntity"), nullable: true },
			[401, 403],
			ADMIN_SECURITY
		)
	},
	"/api/admin/audit": {
		get: {
			...jsonOp(
				"Search the audit trail, newest first (`next` is the cursor of the next page)",
				null,
				obj({
					entries: { type: "array", items: ref("AuditEntry") },
					next: str({ nullable: true })
				}),
				[401, 403, 422],
				ADMIN_SECURITY
			),
			parameters: [
				{ name: "user", in: "query", required: false, schema: str() },
				{ name: "type", in: "query", required: false, schema: str() },
				{
					name: "since",
					in: "query",
					required: false,
					schema: str({ format: "date-time" })
				},
				{
					name: "until",
					in: "query",
					required: false,
					schema: str({ format: "date-time" })
				},
				{ name: "cursor", in: "query", required: false, schema: str() },
				{ name: "limit", in: "query", required: false, schema: { type: "integer" } }
			]
		}
	},
	"/api/admin/audit/export": {
		get: {
			summary: "Every audit entry since `since`, one JSON object a line, newest first",
			security: ADMIN_SECURITY,
			parameters: [
				{
					name: "since",
					in: "query",
					required: false,
					schema: str({ format: "date-time" })
				}
			],
			responses: responses(
				{
					200: {
						description: "NDJSON",
						content: { "application/x-ndjson": { schema: ref("AuditEntry") } }
					}
				},
				401,
				403
			)
		}
	},

	"/api/pools/{pool}": {
		get: {
			...jsonOp(
				"A pool's counts",
				null,
				obj({
					size: { type: "integer" },
					available: { type: "integer" },
					assigned: { type: "integer" }
				}),
				[401, 403, 404],
				ADMIN_SECURITY
			),
			parameters: [poolParam]
		},
		put: poolOp(
			"Configure a pool",
			obj(
				{
					size: { type: "integer", minimum: 1, maximum: 100000 },
					leaseTime: { type: "integer" },
					tokenTtl: { type: "integer" }
				},
				["size", "leaseTime"]
			),
			obj({}),
			[]
		)
	},
	"/api/pools/{pool}/generate-token": {
		post: {
			...poolOp(
				"Add a token to the pool (403 when full)",
				obj({}),
				obj({ token: str() }),
				[]
			),
			responses: responses(
				{ 201: { description: "Created", content: json(obj({ token: str() })) } },
				401,
				403
			)
		}
	},
	"/api/pools/{pool}/assign-token": {
		post: poolOp(
			"Lease an available token to a client (404 when none)",
			obj({ clientId: str(), client_id: str({ description: "Alias of clientId" }) }),
			obj({ token: str(), leaseExpiresAt: str({ format: "date-time" }) }),
			[404]
		)
	},
	"/api/pools/{pool}/keep-alive": {
		post: poolOp(
			"Extend the lease (403 if the client does not hold it)",
			obj({ token: str(), clientId: str(), client_id: str() }, ["token"]),
			obj({ ok: { type: "boolean" }, leaseExpiresAt: str({ format: "date-time" }) }),
			[]
		)
	},
	"/api/pools/{pool}/unblock-token": {
		post: poolOp(
			"Release a leased token (403 if not assigned)",
			obj({ token: str(), clientId: str(), client_id: str() }, ["token"]),
			OK,
			[]
		)
	},
	"/api/pools/{pool}/delete-token": {
		post: poolOp(
			"Delete a token from the pool (404 if absent)",
			obj({ token: str() }, ["token"]),
			OK,
			[404]
		)
	}
};
