import { Errors, ServiceBroker } from "moleculer";
import { SERVICE_UNAVAILABLE, toPublicError } from "../../../lib/http/public-error";

describe("toPublicError", () => {
	it("keeps a client error's message and type, without its data", () => {
		const err = new Errors.MoleculerClientError("Username taken", 409, "ALREADY_EXISTS", {
			internal: "users collection"
		});
		expect(toPublicError(err)).toEqual({
			status: 409,
			body: {
				name: "MoleculerClientError",
				message: "Username taken",
				code: 409,
				type: "ALREADY_EXISTS"
			}
		});
	});

	it("keeps a validation error's field list, and nothing nested or rejected", () => {
		const err = new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
			{ type: "required", field: "owner", message: "The 'owner' field is required." },
			{ type: "string", field: "x", message: "m", actual: "secret", nested: { a: 1 } }
		] as never);
		const { status, body } = toPublicError(err);
		expect(status).toBe(422);
		expect(body.data).toEqual([
			{ type: "required", field: "owner", message: "The 'owner' field is required." },
			{ type: "string", field: "x", message: "m" }
		]);
		expect(JSON.stringify(body)).not.toContain("secret");
	});

	it("turns 'service not found/available' into 503, not 404", () => {
		expect(toPublicError(new Errors.ServiceNotFoundError({ action: "tokens.check" }))).toEqual(
			SERVICE_UNAVAILABLE
		);
		expect(
			toPublicError(new Errors.ServiceNotAvailableError({ action: "a.b", nodeID: "n1" }))
		).toEqual(SERVICE_UNAVAILABLE);
		// The same error after a trip over the wire: a plain object with the name.
		expect(toPublicError({ name: "ServiceNotFoundError", code: 404 }).status).toBe(503);
		expect(JSON.stringify(SERVICE_UNAVAILABLE)).not.toContain("tokens");
	});

	it("turns an open circuit breaker's ServiceNotAvailableError (code 404) into a 503 JSON", async () => {
		const broker = new ServiceBroker({
			logger: false,
			circuitBreaker: {
				enabled: true,
				threshold: 0.5,
				minRequestCount: 3,
				windowTime: 60,
				halfOpenTime: 60_000,
				check: (err: Error) => ((err as Errors.MoleculerError).code ?? 500) >= 500
			}
		});
		broker.createService({
			name: "flaky",
			actions: {
				fail() {
					throw new Errors.MoleculerServerError("disk on fire", 500, "BOOM");
				}
			}
		});
		await broker.start();
		try {
			const errors: Errors.MoleculerError[] = [];
			for (let i = 0; i < 5; i++) {
				errors.push(
					await broker.call("flaky.fail").then(
						() => null!,
						e => e
					)
				);
			}
			const open = errors.at(-1)!;
			expect(open).toMatchObject({ code: 404, type: "SERVICE_NOT_AVAILABLE" });
			expect(toPublicError(errors[0]).status).toBe(500);
			expect(toPublicError(open)).toEqual(SERVICE_UNAVAILABLE);
			expect(JSON.stringify(toPublicError(open))).not.toContain("flaky");
		} finally {
			await broker.stop();
		}
		// Recognised by its type too, whatever the class name became on the way.
		expect(toPublicError({ name: "Error", code: 404, type: "SERVICE_NOT_AVAILABLE" })).toEqual(
			SERVICE_UNAVAILABLE
		);
		expect(toPublicError({ name: "X", code: 404, type: "SERVICE_NOT_FOUND" }).status).toBe(503);
		// A resource that is really missing stays a 404.
		expect(toPublicError({ name: "X", code: 404, type: "NOT_FOUND" }).status).toBe(404);
	});

	it("hides internal errors behind a generic 500", () => {
		const err = new Error("ECONNREFUSED mongodb://admin:pw@db:27017");
		const out = toPublicError(err);
		expect(out.status).toBe(500);
		expect(JSON.stringify(out)).not.toMatch(/mongodb|ECONNREFUSED|stack/);
		expect(toPublicError(new Errors.MoleculerServerError("boom", 500, "X")).body.message).toBe(
			"Internal server error"
		);
		expect(toPublicError(null).status).toBe(500);
		expect(toPublicError("text").status).toBe(500);
	});

	it("maps timeouts to 504", () => {
		const err = new Errors.RequestTimeoutError({ action: "auth.signIn", nodeID: "n" });
		expect(toPublicError(err)).toMatchObject({
			status: 504,
			body: { type: "REQUEST_TIMEOUT" }
		});
		expect(JSON.stringify(toPublicError(err))).not.toContain("auth.signIn");
	});

	it("maps body-parser errors without echoing the body", () => {
		const syntax = Object.assign(new SyntaxError(`Unexpected token 'm', "mtk_secret" is not`), {
			status: 400,
			type: "entity.parse.failed"
		});
		const parsed = toPublicError(syntax);
		expect(parsed).toMatchObject({ status: 400, body: { type: "INVALID_BODY" } });
		expect(JSON.stringify(parsed)).not.toContain("mtk_secret");
		const tooLarge = Object.assign(new Error("request entity too large"), {
			status: 413,
			statusCode: 413,
			type: "entity.too.large"
		});
		expect(toPublicError(tooLarge)).toMatchObject({
			status: 413,
			body: { type: "PAYLOAD_TOO_LARGE" }
		});
	});

	it("keeps only a numeric retryAfter of a 423 or 429", () => {
		const locked = new Errors.MoleculerClientError("Locked", 423, "LOCKED", {
			lockedUntil: "2030-01-01T00:00:00.000Z",
			retryAfter: 7
		});
		expect(toPublicError(locked).body.data).toEqual({ retryAfter: 7 });
		const odd = new Errors.MoleculerClientError("x", 429, "T", { retryAfter: "soon" });
		expect(toPublicError(odd).body.data).toBeUndefined();
	});

	it("keeps the status of moleculer-web's own client errors", () => {
		const rate = Object.assign(new Errors.MoleculerClientError("Rate limit exceeded", 429), {
			name: "RateLimitExceeded"
		});
		expect(toPublicError(rate)).toMatchObject({ status: 429, body: { code: 429 } });
	});
});
