/** The errors `links` answers with (types in link-error-types.json): one place for each. */
import { Errors } from "moleculer";

export const actionNotAllowed = (anyMore: boolean) =>
	new Errors.MoleculerClientError(
		anyMore ? "Links may no longer call this action" : "Links may not call this action",
		403,
		"ACTION_NOT_ALLOWED",
		{ field: "action" }
	);

/** The link is kept: its action has no node right now. */
export const actionUnavailable = (action: string) =>
	new Errors.MoleculerError(
		"The link's action is not available right now; the link was not used",
		503,
		"ACTION_UNAVAILABLE",
		{ action }
	);

/** Another request is redeeming the link until `lockedUntil`. */
export const linkLocked = (lockedUntil: number, now: number) =>
	new Errors.MoleculerClientError(
		"This link was used moments ago; try again later",
		423,
		"LOCKED",
		{
			lockedUntil: new Date(lockedUntil).toISOString(),
			retryAfter: Math.ceil((lockedUntil - now) / 1000)
		}
	);

export const invalidOrExpiredLink = () =>
	new Errors.MoleculerClientError(
		"This link is invalid or has expired",
		404,
		"INVALID_OR_EXPIRED_TOKEN"
	);
