/**
 * fast-check inputs shared by the property suites: keys an attacker would try beside random ones,
 * any JSON value, and action parameters built from known fields, extra keys and non-objects.
 */
import fc from "fast-check";

export const anyValue = fc.jsonValue({ maxDepth: 3 });

/** Random keys up to `maxLength`, and the `tricky` ones. */
export function anyKeyWith(maxLength: number, tricky: string[]): fc.Arbitrary<string> {
	return fc.oneof(fc.string({ maxLength }), fc.constantFrom(...tricky));
}

/** `key` absent (one time in `freq`), else one of `value`, as entries for an object. */
export function maybeField(
	key: string,
	value: fc.Arbitrary<unknown>,
	freq: number
): fc.Arbitrary<[string, unknown][]> {
	return fc
		.option(value, { nil: undefined, freq })
		.map(v => (v === undefined ? [] : [[key, v] as [string, unknown]]));
}

/**
 * Parameters: the `fields` (each maybe absent), extra `anyKey` keys one time in `extraOdds + 1`,
 * and now and then not an object at all. Objects are made as JSON.parse makes them: "__proto__"
 * is an own key, not the prototype.
 */
export function paramsOf(
	fields: fc.Arbitrary<[string, unknown][]>[],
	anyKey: fc.Arbitrary<string>,
	extraOdds: number
): fc.Arbitrary<unknown> {
	const extra = fc.oneof(
		{ weight: extraOdds, arbitrary: fc.constant([] as [string, unknown][]) },
		{ weight: 1, arbitrary: fc.array(fc.tuple(anyKey, anyValue), { maxLength: 3 }) }
	);
	const object = fc
		.tuple(fc.tuple(...fields), extra)
		.map(([parts, more]) => Object.fromEntries([...parts.flat(), ...more]));
	return fc.oneof({ weight: 9, arbitrary: object }, { weight: 1, arbitrary: anyValue });
}
