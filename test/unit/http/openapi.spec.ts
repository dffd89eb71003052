import * as openapi from "../../../lib/http/openapi";

type Doc = { paths: Record<string, Record<string, Record<string, unknown>>> };

describe("buildOpenApiDocument", () => {
	const generateParams = {
		$$strict: true,
		type: { type: "string", max: 20 },
		owner: { type: "string", max: 64 }
	};

	it("describes an action route's inputs from the action's parameters", () => {
		const doc = openapi.buildOpenApiDocument("http://x", name =>
			name === "tokens.generate" ? generateParams : undefined
		) as Doc;
		const body = JSON.stringify(doc.paths["/api/tokens"].post.requestBody);
		expect(body).toContain('"maxLength":20');
	});

	it("leaves the next document as written: the shared path constants are not changed", () => {
		openapi.buildOpenApiDocument("http://x", name =>
			name === "tokens.generate" ? generateParams : undefined
		);
		const doc = openapi.buildOpenApiDocument("http://x") as Doc;
		const body = JSON.stringify(doc.paths["/api/tokens"].post.requestBody);
		expect(body).toContain('"owner"');
		expect(body).not.toContain('"maxLength":20');
	});
});
