/** fastest-validator rules of `auth`'s parameters, shared by its actions. */
export const DAY = 86400;
export const USERNAME = {
	type: "string",
	min: 3,
	max: 32,
	pattern: /^[a-zA-Z0-9_.-]+$/,
	messages: {
		stringPattern: "The 'username' field may only contain letters, digits, '_', '.' and '-'."
	}
} as const;
export const EMAIL = { type: "email", max: 254 } as const;
export const NEW_PASSWORD = { type: "string", min: 10, max: 128 } as const;
/** A password being checked: any length is "wrong", not a hint about the rules. */
export const GIVEN_PASSWORD = { type: "string", min: 1, max: 1024 } as const;
/** Token strings: any shape is "invalid or expired", never a validation error echoing it. */
export const TOKEN_STRING = { type: "string", min: 1, max: 4096 } as const;
export { MAX_TOKEN_LENGTH } from "../tokens/format";
export const SCOPES = {
	type: "array",
	items: { type: "string", min: 1, max: 64 },
	max: 32,
	// Not fastest-validator's `unique`: its error quotes the duplicates (in the message and in
	// `expected`), and a caller may have put anything there, a token included.
	custom: (value: unknown, errors: { type: string; message: string }[]) => {
		if (Array.isArray(value) && new Set(value).size !== value.length) {
			errors.push({
				type: "arrayUnique",
				message: "The 'scopes' field lists a scope twice."
			});
		}
		return value;
	}
} as const;

/** A page's size: 1 to 100 (a query string's text converted). */
export const PAGE_LIMIT = {
	type: "number",
	integer: true,
	min: 1,
	max: 100,
	optional: true,
	convert: true
} as const;
