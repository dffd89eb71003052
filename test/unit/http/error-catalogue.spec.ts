/**
 * The error catalogue (lib/http/error-catalogue.ts) against the code and docs/errors.md: every error
 * type the code throws is listed with the status it is thrown with, every listed type is thrown
 * somewhere, and the page is what `npm run docs:generate` writes.
 */
import { prettierFormatted } from "../../helpers/docs";
import { Errors } from "moleculer";
import * as catalogue from "../../../lib/http/error-catalogue";
import { INVALID_DATA, STORE_UNAVAILABLE } from "../../../lib/store/store-errors";
import { NODE_UNRESPONSIVE } from "../../../lib/broker/failover";
import { readSource, REPO_ROOT, sources } from "../../helpers/source-tree";

/** `type@status` for every error the code builds with a literal status and type. */
function thrownByCode(): Map<string, string[]> {
	const found = new Map<string, string[]>();
	const add = (type: string, status: string, file: string) =>
		found.set(`${type}@${status}`, [...(found.get(`${type}@${status}`) ?? []), file]);
	const files = ["services", "lib", "mixins"]
		.flatMap(sources)
		.filter(f => f.endsWith(".ts") && !f.endsWith("error-catalogue.ts"));
	for (const file of files) {
		const text = readSource(file);
		// clientError(message, 403, "TYPE"), new Errors.X(message, 503, "TYPE", …)
		for (const m of text.matchAll(/\b(\d{3})\s*,\s*"([A-Z][A-Z0-9_]{2,})"/g))
			add(m[2], m[1], file);
		// gatewayError(413, "Name", "message", "TYPE")
		for (const m of text.matchAll(
			/gatewayError\(\s*(\d{3})\s*,\s*"[^"]*"\s*,\s*"[^"]*"\s*,\s*"([A-Z_]+)"/g
		)) {
			add(m[2], m[1], file);
		}
	}
	return found;
}

/** Types built from a constant or by moleculer itself, with their status. */
const BY_CONSTANT: Record<string, number> = {
	[STORE_UNAVAILABLE]: 503,
	[INVALID_DATA]: 400,
	[NODE_UNRESPONSIVE]: 503,
	[new Errors.ValidationError("x").type]: 422
};

describe("the error catalogue", () => {
	const listed = new Map(catalogue.ERROR_CATALOGUE.map(e => [e.type, e.status]));

	it("lists every type the code throws, with a status it is listed with", () => {
		// A type thrown with two statuses is listed with its usual one; the meaning names the other.
		const secondStatus = new Set(["INVALID_CREDENTIALS@403", "INVALID_OR_EXPIRED_TOKEN@404"]);
		const wrong = [...thrownByCode().keys()].filter(key => {
			if (secondStatus.has(key)) return false;
			const [type, status] = key.split("@");
			return listed.get(type) !== Number(status);
		});
		expect(wrong.sort()).toEqual([]);
	});

	it("lists only types something throws", () => {
		const thrown = new Set([...thrownByCode().keys()].map(k => k.split("@")[0]));
		for (const [type, status] of Object.entries(BY_CONSTANT)) {
			expect([type, listed.get(type)]).toEqual([type, status]);
			thrown.add(type);
		}
		expect([...listed.keys()].filter(type => !thrown.has(type)).sort()).toEqual([]);
	});

	it("is what docs/errors.md holds (npm run docs:generate)", () => {
		const formatted = prettierFormatted(
			REPO_ROOT,
			"docs/errors.md",
			catalogue.renderErrorCatalogue()
		);
		expect(readSource("docs/errors.md")).toBe(formatted);
	});
});
