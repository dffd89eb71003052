/**
 * Every string a caller sends any action, at any depth (keys too), must be text every store can
 * keep: no U+0000 and no lone UTF-16 surrogate. PostgreSQL refuses both (SQLSTATE 22021, 22P05)
 * with an error the caller caused; before this check such a value answered 500, counted toward the
 * circuit breaker, and about 16 anonymous sign-ins with `"x\u0000"` shut sign-in off for everyone.
 * One check in front of every action of every service, so no parameter rule can forget it; the
 * answer is moleculer's 422 naming the field, never echoing the value.
 */
import type { Context, Middleware } from "moleculer";
import { fieldError } from "./field-error";

type Handler = (ctx: Context) => unknown;

/** U+0000, a high surrogate not followed by a low one, or a low one not preceded by a high one. */
const ILL_FORMED = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Deeper values are the store's depth check's to refuse (lib/store/storable-data). */
const MAX_DEPTH = 32;

export function isStorableText(value: string): boolean {
	return !ILL_FORMED.test(value);
}

/**
 * Only what a caller can send is walked: plain objects and arrays (parsed JSON, forms, params). A
 * gateway's `req`/`res` or a stream handed to an action in the same process is not the caller's text,
 * and walking such a graph would never end.
 */
function isWalkable(value: object): boolean {
	if (Array.isArray(value)) return true;
	const proto = Object.getPrototypeOf(value);
	return proto === Object.prototype || proto === null;
}

/**
 * The dotted path of the first string (or key) in `value` that is not storable text, or null. A
 * key that is itself ill-formed is named by its parent's path: the key cannot be quoted back.
 */
export function illFormedTextIn(value: unknown, path = "", depth = 0): string | null {
	if (typeof value === "string") return isStorableText(value) ? null : path || "params";
	if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return null;
	if (!isWalkable(value)) return null;
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) {
			const inner = illFormedTextIn(value[i], `${path}[${i}]`, depth + 1);
			if (inner !== null) return inner;
		}
		return null;
	}
	for (const key of Object.keys(value)) {
		if (!isStorableText(key)) return path || "params";
		const here = path ? `${path}.${key}` : key;
		const inner = illFormedTextIn((value as Record<string, unknown>)[key], here, depth + 1);
		if (inner !== null) return inner;
	}
	return null;
}

const TextParamsMiddleware = {
	name: "TextParams",
	localAction(handler: Handler): Handler {
		return function refuseIllFormedText(ctx: Context) {
			const field = illFormedTextIn(ctx.params);
			if (field === null) return handler(ctx);
			return Promise.reject(
				fieldError(
					field,
					"stringText",
					`The '${field}' field must not contain U+0000 or unpaired surrogates.`
				)
			);
		};
	}
} as unknown as Middleware;

export default TextParamsMiddleware;
