/**
 * The REPL's user-administration commands (docs/administration.md): find, show, lock, unlock and
 * grant the admin role. They call `auth` wherever it runs; with no caller in the call's meta, auth
 * records them in the audit trail with the actor `system`.
 */
import type { ServiceBroker } from "moleculer";
import { formatTable, run, type Print, type ReplArgs, type ReplCommand } from "./repl-support";

interface UserSummary {
	id: string;
	username: string;
	email: string;
	status: string;
	roles: string[];
	lastSignInAt: string | null;
}

/** `users-find [prefix]`: users by username or address prefix, any case. */
export async function usersFind(
	broker: ServiceBroker,
	query: { q?: string; status?: string },
	print: Print
): Promise<UserSummary[]> {
	const { users } = await broker.call<{ users: UserSummary[] }, object>("auth.adminListUsers", {
		...(query.q === undefined ? {} : { q: query.q }),
		...(query.status === undefined ? {} : { status: query.status }),
		limit: 100
	});
	if (users.length === 0) {
		print("No users found.");
		return users;
	}
	formatTable([
		["id", "username", "email", "status", "roles", "last sign-in"],
		...users.map(u => [
			u.id,
			u.username,
			u.email,
			u.status,
			u.roles.join(","),
			u.lastSignInAt ?? "never"
		])
	]).forEach(l => print(l));
	return users;
}

/** The one user whose username or address is `login` (any case), or an error saying so. */
export async function userByLogin(broker: ServiceBroker, login: string): Promise<UserSummary> {
	const wanted = login.trim().toLowerCase();
	const { users } = await broker.call<{ users: UserSummary[] }, object>("auth.adminListUsers", {
		q: wanted,
		limit: 100
	});
	const user = users.find(
		u => u.username.toLowerCase() === wanted || u.email.toLowerCase() === wanted
	);
	if (!user) throw new Error(`No user ${login}`);
	return user;
}

/** `users-lock <login> <reason…>`: locks the account (see docs/administration.md). */
export async function usersLock(
	broker: ServiceBroker,
	login: string,
	reason: string,
	print: Print
): Promise<void> {
	const user = await userByLogin(broker, login);
	const { revoked } = await broker.call<{ revoked: number }, object>("auth.adminLockUser", {
		id: user.id,
		reason
	});
	print(`Locked ${user.username}; ${revoked} session(s) ended.`);
}

/** `users-unlock <login>`. */
export async function usersUnlock(broker: ServiceBroker, login: string, print: Print) {
	const user = await userByLogin(broker, login);
	await broker.call("auth.adminUnlockUser", { id: user.id });
	print(`Unlocked ${user.username}.`);
}

/** `users-grant-admin <login>`: the admin role (bootstrapping the first administrator). */
export async function usersGrantAdmin(broker: ServiceBroker, login: string, print: Print) {
	const user = await userByLogin(broker, login);
	await broker.call("auth.adminSetRoles", { id: user.id, roles: ["user", "admin"] });
	print(`${user.username} is an administrator (they need TOTP or a passkey to use it).`);
}

const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);

/** `users-find`'s prefix and `--status`, as auth.adminListUsers takes them. */
const findQuery = (args: ReplArgs) => ({ q: text(args.prefix), status: text(args.options.status) });

export const userCommands: ReplCommand[] = [
	{
		command: "users-find [prefix]",
		description: "Users by username or address prefix (never a secret)",
		options: [
			{ option: "-s, --status <status>", description: "unconfirmed, active or locked" }
		],
		action: (broker, args) => run(print => usersFind(broker, findQuery(args), print))
	},
	{
		command: "users-lock <login> <reason...>",
		description: "Lock an account: sessions, refresh tokens and keys refused at once",
		action: (broker, args) =>
			run(print =>
				usersLock(
					broker,
					String(args.login),
					Array.isArray(args.reason) ? args.reason.join(" ") : String(args.reason),
					print
				)
			)
	},
	{
		command: "users-unlock <login>",
		description: "Unlock an account (no old session comes back)",
		action: (broker, args) => run(print => usersUnlock(broker, String(args.login), print))
	},
	{
		command: "users-grant-admin <login>",
		description: "Give an account the admin role",
		action: (broker, args) => run(print => usersGrantAdmin(broker, String(args.login), print))
	}
];
