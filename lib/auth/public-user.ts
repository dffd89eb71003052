import { isoDate } from "../common/iso-date";
import type { PublicUser } from "./auth-types";
import type { UserRecord } from "./store/user-store";

/** What callers see of a user: never the password hash, a TOTP secret or a lock's details. */
export function publicUser(user: UserRecord): PublicUser {
	return {
		id: user._id,
		username: user.username,
		email: user.email,
		emailVerified: user.emailVerified,
		createdAt: isoDate(user.createdAt),
		updatedAt: isoDate(user.updatedAt)
	};
}
