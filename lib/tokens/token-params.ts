/** fastest-validator rules of `tokens`' parameters, shared by its service and mixins. */
export const DAY = 86400;
/** Upper bound on a token's lifetime: ten years. */
export const MAX_EXPIRY = 10 * 365 * DAY;
export const OWNER = { type: "string", min: 1, max: 256 } as const;
