import { Errors } from "moleculer";
import {
	MAX_DATA_DEPTH,
	assertStorableData,
	copyData,
	isStorableData
} from "../../../lib/store/storable-data";

function nested(depth: number): unknown {
	let value: unknown = 1;
	for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
	return value;
}

describe("storable data", () => {
	it.each([
		["a flat object", { action: "subscribe", list: "weekly", n: 1, ok: true, none: null }],
		["nested objects and arrays", { a: [{ b: { c: [1, "x"] } }] }],
		["keys with $ or . inside, not first", { price$: 1, "a-b_c d": 2 }],
		["constructor and prototype keys", { constructor: 1, prototype: 2 }],
		[`${MAX_DATA_DEPTH} levels`, nested(MAX_DATA_DEPTH)]
	])("accepts %s", (_name, value) => {
		expect(isStorableData(value)).toBe(true);
	});

	it.each([
		["a key starting with $", { $set: { admin: true } }],
		["a key with a dot", { "a.b": 1 }],
		["a bad key deep inside an array", { list: [{ ok: 1 }, { "x.y": 2 }] }],
		["an own __proto__ key", JSON.parse('{"__proto__": {"admin": true}}')],
		[`${MAX_DATA_DEPTH + 1} levels`, nested(MAX_DATA_DEPTH + 1)]
	])("refuses %s", (_name, value) => {
		expect(isStorableData(value)).toBe(false);
	});

	it("refuses with a 422 naming the field, without the value", () => {
		let thrown: unknown;
		try {
			assertStorableData({ "secret.value": "s3cr3t" }, "data");
		} catch (err) {
			thrown = err;
		}
		expect(thrown).toBeInstanceOf(Errors.ValidationError);
		expect(thrown).toMatchObject({ code: 422, data: [{ field: "data" }] });
		expect(JSON.stringify(thrown)).not.toMatch(/s3cr3t|secret\.value/);
		expect(() => assertStorableData(undefined, "data")).not.toThrow();
	});
});

describe("copyData", () => {
	it("copies stored data deeply, Dates included, sharing nothing", () => {
		const original = {
			plan: "pro",
			n: 3,
			none: null,
			limits: { rateLimits: [{ name: "a", limit: 1, duration: 60 }] },
			at: new Date(1000)
		};
		const copy = copyData(original);
		expect(copy).toEqual(original);
		copy.limits.rateLimits[0].limit = 99;
		copy.at.setTime(5);
		expect(original.limits.rateLimits[0].limit).toBe(1);
		expect(original.at.getTime()).toBe(1000);
		expect(copy.at).toBeInstanceOf(Date);
		expect(copyData([1, [2, { x: 3 }]])).toEqual([1, [2, { x: 3 }]]);
		expect(copyData("s")).toBe("s");
	});
});
