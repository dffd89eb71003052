/** Refusals of request bodies that parsing alone lets through. */
import { fieldError } from "../broker/field-error";
import type { GatewayResponse, IncomingRequest } from "moleculer-web";

/** Keys that would reach an object's prototype when the body is merged into the parameters. */
const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"];

/** The dotted path of the first prototype key in a parsed body, or null. */
export function prototypeKeyIn(value: unknown, path = "", depth = 0): string | null {
	if (value === null || typeof value !== "object" || depth > 32) return null;
	for (const key of Object.keys(value)) {
		const here = path ? `${path}.${key}` : key;
		if (PROTOTYPE_KEYS.includes(key)) return here;
		const inner = prototypeKeyIn((value as Record<string, unknown>)[key], here, depth + 1);
		if (inner !== null) return inner;
	}
	return null;
}

/**
 * Route middleware, after the body parser: JSON.parse keeps `"__proto__"` as a plain key, and
 * merging the body into the parameters would then set their prototype and slip its contents past
 * the unknown-field check.
 */
export function refusePrototypeKeys(
	req: IncomingRequest,
	_res: GatewayResponse,
	next: (err?: unknown) => void
) {
	const field = prototypeKeyIn((req as unknown as { body?: unknown }).body);
	if (field === null) return next();
	next(fieldError(field, "objectStrict", `The '${field}' field is not allowed.`));
}
