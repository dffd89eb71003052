/**
 * moleculer's fastest-validator, with three changes:
 * - validation errors never carry the rejected value. fastest-validator puts it in `data[].actual`,
 *   so a malformed token, a password that is too short or a salt passed by mistake would be
 *   returned to the caller and written to logs in clear. The field name, rule type and message
 *   stay, which is all a caller needs to fix the request;
 * - a string longer than its rule's `max` is refused before any pattern runs on it
 *   (fastest-validator records the `max` error, then runs the pattern on the whole string anyway),
 *   and a string rule with a pattern must have a `max`;
 * - `email` is one bare mailbox (lib/common/mailbox), checked in linear time and normalised; the built-in
 *   rule's pattern takes time cubic in the length and accepts lists and display names.
 */
import { Errors, Validators } from "moleculer";
import { MAX_ADDRESS_LENGTH, parseMailbox } from "../common/mailbox";

type CheckResult = true | Record<string, unknown>[];
type CheckFunction = ((params: unknown, opts?: unknown) => CheckResult | Promise<CheckResult>) & {
	async?: boolean;
};

/**
 * Unknown keys are named back only when they look like field names: a caller may put a secret in a
 * key (`{ [token]: 1 }`), and every token this project makes is longer than this.
 */
const NAMEABLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]{0,31}$/;

/** fastest-validator messages that quote the rejected values, and what to say instead. */
const QUOTING_MESSAGES: Record<string, string> = {
	arrayUnique: "must not contain the same value twice",
	arrayEnum: "contains a value that is not allowed"
};

function redactEntry({ actual, ...rest }: Record<string, unknown>): Record<string, unknown>[] {
	// Strict objects report unknown keys (names, not values) as one error: give each its own entry
	// with a `field`, so callers learn which field is not allowed.
	if (rest.type === "objectStrict" && typeof actual === "string") {
		const parent = typeof rest.field === "string" && rest.field ? `${rest.field}.` : "";
		return actual.split(", ").map(key => {
			if (!NAMEABLE_KEY.test(key)) {
				return {
					type: "objectStrict",
					field: parent ? rest.field : undefined,
					message: "The request contains a field that is not allowed."
				};
			}
			const field = parent + key;
			return { type: "objectStrict", field, message: `The '${field}' field is not allowed.` };
		});
	}
	const replacement = QUOTING_MESSAGES[String(rest.type)];
	if (replacement !== undefined) {
		// arrayUnique's `expected` lists the duplicated values themselves.
		const { expected, ...withoutExpected } = rest;
		return [
			{
				...(rest.type === "arrayUnique"
					? withoutExpected
					: { ...withoutExpected, expected }),
				message: `The '${String(rest.field)}' field ${replacement}.`
			}
		];
	}
	// A custom message may quote the value too.
	if (
		(typeof actual === "string" || typeof actual === "number") &&
		String(actual).length >= 4 &&
		typeof rest.message === "string" &&
		rest.message.includes(String(actual))
	) {
		return [{ ...rest, message: `The '${String(rest.field)}' field is not valid.` }];
	}
	return [rest];
}

export function redactValidationResult(res: CheckResult): CheckResult {
	if (res === true) return true;
	return res.flatMap(redactEntry);
}

type MoleculerCheckFunction = ReturnType<InstanceType<typeof Validators.Fastest>["compile"]>;

/** What fastest-validator hands a rule function, as far as the rules below use it. */
interface RuleInput {
	schema: Record<string, unknown>;
	messages: Record<string, string>;
}
interface RuleOutput {
	source: string;
	sanitized?: boolean;
}
interface FastestInternals {
	rules: Record<
		string,
		(this: FastestInternals, rule: RuleInput, ...rest: unknown[]) => RuleOutput
	>;
	add(
		type: string,
		fn: (this: FastestInternals, rule: RuleInput, ...rest: unknown[]) => RuleOutput
	): void;
	makeError(opts: Record<string, unknown>): string;
	/** Reached from generated rule code as `this.$parseMailbox`. */
	$parseMailbox?: (value: string) => string | null;
}

/** A string rule that refuses an over-long value before its other checks (and patterns) run. */
function boundedStringRule(original: FastestInternals["rules"][string]) {
	return function (this: FastestInternals, rule: RuleInput, ...rest: unknown[]): RuleOutput {
		const { schema, messages } = rule;
		const hasPattern = schema.pattern != null;
		if (hasPattern && typeof schema.max !== "number") {
			throw new Error(
				"A string rule with a pattern needs a max: patterns only see bounded strings."
			);
		}
		const compiled = original.call(this, rule, ...rest);
		if (typeof schema.max !== "number") return compiled;
		const guard = `
			if (typeof value === "string" && value.length > ${schema.max}) {
				${this.makeError({ type: "stringMax", expected: schema.max, actual: "value.length", messages })}
				return value;
			}
		`;
		return { ...compiled, source: guard + compiled.source };
	};
}

/** `email`: one bare mailbox, normalised (lib/common/mailbox). */
function mailboxRule(this: FastestInternals, { schema, messages }: RuleInput): RuleOutput {
	const max = typeof schema.max === "number" ? schema.max : MAX_ADDRESS_LENGTH;
	return {
		sanitized: true,
		source: `
			if (typeof value !== "string") {
				${this.makeError({ type: "string", actual: "value", messages })}
				return value;
			}
			if (value.length === 0) {
				${this.makeError({ type: "emailEmpty", actual: "value", messages })}
				return value;
			}
			if (value.length > ${max}) {
				${this.makeError({ type: "emailMax", expected: max, actual: "value.length", messages })}
				return value;
			}
			var mailbox = this.$parseMailbox(value);
			if (mailbox === null) {
				${this.makeError({ type: "email", actual: "value", messages })}
				return value;
			}
			return mailbox;
		`
	};
}

export class RedactingValidator extends Validators.Fastest {
	constructor(opts?: Record<string, unknown>) {
		super(opts);
		const fastest = (this as unknown as { validator: FastestInternals }).validator;
		fastest.$parseMailbox = parseMailbox;
		fastest.add("string", boundedStringRule(fastest.rules.string));
		fastest.add("email", mailboxRule);
	}

	override compile(schema: Record<string, unknown>): MoleculerCheckFunction {
		const check = super.compile(schema) as unknown as CheckFunction;
		// fastest-validator can throw while formatting a message about a hostile value (an object whose
		// `toString` is not a function): that is invalid input too, never a crash.
		const unreadable = (): CheckResult => [
			{ type: "invalid", message: "The parameters could not be read." }
		];
		const redacted: CheckFunction = check.async
			? (params, opts) => {
					try {
						return (check(params, opts) as Promise<CheckResult>).then(
							redactValidationResult,
							unreadable
						);
					} catch {
						return Promise.resolve(unreadable());
					}
				}
			: (params, opts) => {
					try {
						return redactValidationResult(check(params, opts) as CheckResult);
					} catch {
						return unreadable();
					}
				};
		redacted.async = check.async;
		return redacted as unknown as MoleculerCheckFunction;
	}

	override validate(params: Record<string, unknown>, schema: Record<string, unknown>): boolean {
		try {
			return super.validate(params, schema);
		} catch (err) {
			if (err instanceof Errors.ValidationError && Array.isArray(err.data)) {
				throw new Errors.ValidationError(
					err.message,
					err.type,
					redactValidationResult(err.data as Record<string, unknown>[]) as never
				);
			}
			throw err;
		}
	}
}
