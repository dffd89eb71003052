/**
 * A caller's free-form object (a token's `data`) is stored as given, so it must be something both
 * stores keep intact. NeDB refuses keys that start with "$" or contain "." (and MongoDB reserves "$"
 * keys), which would fail the whole group-committed insert, i.e. other callers' tokens too; a
 * "__proto__" key would silently become a prototype when NeDB copies the document; and a deeply
 * nested value would overflow the copy's recursion. Such input is the caller's mistake: a 422.
 */
import { Errors } from "moleculer";

/** Deepest nesting accepted inside `data` (objects and arrays). */
export const MAX_DATA_DEPTH = 16;

function storable(value: unknown, depth: number): boolean {
	if (value === null || typeof value !== "object") return true;
	if (depth >= MAX_DATA_DEPTH) return false;
	if (Array.isArray(value)) return value.every(item => storable(item, depth + 1));
	return Object.entries(value).every(
		([key, item]) =>
			!key.startsWith("$") &&
			!key.includes(".") &&
			key !== "__proto__" &&
			storable(item, depth + 1)
	);
}

export function isStorableData(value: unknown): boolean {
	return storable(value, 0);
}

/** Throws a 422 naming `field` (never echoing the value) unless `value` is storable. */
export function assertStorableData(value: unknown, field: string): void {
	if (isStorableData(value)) return;
	const message =
		`The '${field}' field must not have keys that start with '$', contain '.' or are ` +
		`'__proto__', nor nest deeper than ${MAX_DATA_DEPTH} levels.`;
	throw new Errors.ValidationError(message, "VALIDATION_ERROR", [
		{ type: "storableObject", field, message }
	]);
}

/**
 * A deep copy of stored data, so a caller's changes never reach the store's copy. Stored data is
 * JSON (with Dates from in-process callers on NeDB): a plain walk does it several times faster than
 * structuredClone, and this copy is on the token check's path.
 */
export function copyData<T>(value: T): T {
	if (value === null || typeof value !== "object") return value;
	if (Array.isArray(value)) return value.map(copyData) as T;
	if (value instanceof Date) return new Date(value.getTime()) as T;
	const copy: Record<string, unknown> = {};
	for (const key of Object.keys(value))
		copy[key] = copyData((value as Record<string, unknown>)[key]);
	return copy as T;
}
