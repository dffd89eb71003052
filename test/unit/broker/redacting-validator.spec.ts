import { Errors } from "moleculer";
import {
	RedactingValidator,
	redactValidationResult
} from "../../../lib/broker/redacting-validator";

describe("RedactingValidator", () => {
	const secret = "mtk_this-would-be-a-secret";

	it("compiled checks name the field but never return the rejected value", () => {
		const check = new RedactingValidator().compile({
			$$strict: true,
			token: { type: "number" }
		});
		const res = check({ token: secret });
		expect(res).not.toBe(true);
		expect(JSON.stringify(res)).not.toContain(secret);
		expect(res).toEqual([expect.objectContaining({ field: "token", type: "number" })]);
	});

	it("validate() throws a ValidationError without the rejected value", () => {
		const validator = new RedactingValidator();
		let error: unknown;
		try {
			validator.validate({ password: secret }, { password: { type: "string", min: 100 } });
		} catch (err) {
			error = err;
		}
		expect(error).toBeInstanceOf(Errors.ValidationError);
		expect((error as Errors.ValidationError).code).toBe(422);
		expect(JSON.stringify((error as Errors.ValidationError).data)).not.toContain(secret);
	});

	it("passes valid input through", () => {
		expect(redactValidationResult(true)).toBe(true);
		expect(new RedactingValidator().compile({ a: "string" })({ a: "x" })).toBe(true);
	});
});

describe("strict schemas", () => {
	it("name each unknown field, without its value", () => {
		const check = new RedactingValidator().compile({ $$strict: true, a: "string" });
		expect(check({ a: "x", id: "secret-value", zz: 2 })).toEqual([
			{ type: "objectStrict", field: "id", message: "The 'id' field is not allowed." },
			{ type: "objectStrict", field: "zz", message: "The 'zz' field is not allowed." }
		]);
	});

	it("prefix nested unknown fields with their parent", () => {
		const check = new RedactingValidator().compile({
			o: { type: "object", strict: true, props: { a: "string" } }
		});
		expect(check({ o: { a: "x", b: 1 } })).toEqual([
			{ type: "objectStrict", field: "o.b", message: "The 'o.b' field is not allowed." }
		]);
	});
});

describe("unknown keys that could be secrets", () => {
	it("are never named back", () => {
		const token = "mtk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
		const check = new RedactingValidator().compile({ $$strict: true, a: "string" });
		const res = check({ a: "x", [token]: 1, "not a field name": 2 });
		expect(JSON.stringify(res)).not.toContain(token);
		expect(JSON.stringify(res)).not.toContain("not a field name");
		expect(res).toEqual([
			{
				type: "objectStrict",
				field: undefined,
				message: "The request contains a field that is not allowed."
			},
			{
				type: "objectStrict",
				field: undefined,
				message: "The request contains a field that is not allowed."
			}
		]);
	});
});

describe("messages that would quote the rejected values", () => {
	const secret = "mtk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";

	it("do not, for duplicates in a unique array", () => {
		const check = new RedactingValidator().compile({
			scopes: { type: "array", items: "string", unique: true }
		});
		const res = check({ scopes: [secret, secret] });
		expect(JSON.stringify(res)).not.toContain(secret);
		expect(res).toEqual([expect.objectContaining({ type: "arrayUnique", field: "scopes" })]);
	});

	it("do not, for a value outside an array's enum", () => {
		const check = new RedactingValidator().compile({
			scopes: { type: "array", items: "string", enum: ["read", "write"] }
		});
		const res = check({ scopes: ["read", secret] });
		expect(JSON.stringify(res)).not.toContain(secret);
		expect(res).toEqual([expect.objectContaining({ type: "arrayEnum", field: "scopes" })]);
	});

	it("do not, for a custom message quoting the value", () => {
		const check = new RedactingValidator().compile({
			token: { type: "string", max: 5, messages: { stringMax: "Too long: {actual}" } }
		});
		expect(JSON.stringify(check({ token: secret }))).not.toContain(secret);
	});

	it("unknown snake_case fields are still named", () => {
		const check = new RedactingValidator().compile({ $$strict: true, a: "string" });
		expect(check({ a: "x", client_id: "c" })).toEqual([
			{
				type: "objectStrict",
				field: "client_id",
				message: "The 'client_id' field is not allowed."
			}
		]);
	});
});

describe("hostile values", () => {
	it("a value fastest-validator cannot even describe is a validation error, not a crash", () => {
		const check = new RedactingValidator().compile({
			$$strict: true,
			token: { type: "string", max: 10 }
		});
		const res = check([{ toString: "" }] as unknown as Record<string, unknown>);
		expect(res).not.toBe(true);
		expect(Array.isArray(res)).toBe(true);
	});
});

describe("bounded patterns", () => {
	it("refuses an over-long string before its pattern runs", () => {
		// A pattern that backtracks exponentially: 5,000 characters would take forever if it ran.
		const slow = /^(a|a)*$/;
		const check = new RedactingValidator().compile({
			s: { type: "string", max: 20, pattern: slow }
		});
		const started = Date.now();
		expect(check({ s: `${"a".repeat(5000)}!` })).toEqual([
			expect.objectContaining({ field: "s", type: "stringMax" })
		]);
		expect(Date.now() - started).toBeLessThan(50);
		expect(check({ s: "aaa" })).toBe(true);
		expect(check({ s: "ab" })).toEqual([
			expect.objectContaining({ field: "s", type: "stringPattern" })
		]);
	});

	it("refuses to compile a string rule with a pattern and no max", () => {
		expect(() =>
			new RedactingValidator().compile({ s: { type: "string", pattern: /^a$/ } })
		).toThrow(/needs a max/);
	});

	it("checks e-mail addresses as one mailbox, normalised, in linear time", () => {
		const check = new RedactingValidator().compile({
			$$strict: true,
			email: { type: "email" }
		});
		const params = { email: " Ann@Example.COM " };
		expect(check(params)).toBe(true);
		expect(params.email).toBe("Ann@example.com");
		for (const email of ["a@b.example,c@d.example", "x<y@z.example>", "a@b.example\u200b"]) {
			expect(check({ email })).toEqual([
				expect.objectContaining({ field: "email", type: "email" })
			]);
		}
		const started = Date.now();
		expect(check({ email: "@.".repeat(3000) })).toEqual([
			expect.objectContaining({ field: "email", type: "emailMax" })
		]);
		expect(check({ email: "@.".repeat(100) })).toEqual([
			expect.objectContaining({ field: "email", type: "email" })
		]);
		expect(Date.now() - started).toBeLessThan(50);
	});
});
