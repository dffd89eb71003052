/**
 * Operator commands for the moleculer REPL (`npm run repl`, see docs/operations.md).
 * They call the `tokens` service wherever it runs in the cluster, so an operator's REPL node needs no
 * service of its own. Each command is a plain function of (broker, arguments, print), tested as such;
 * `replCommands` adapts them to moleculer-repl's custom command format.
 */
import type { ChainProblem } from "../audit/chain";
import type { ReplOptions, ServiceBroker } from "moleculer";
import { formatTable, run, type Print, type ReplCommand } from "./repl-support";
import { userCommands } from "./repl-user-commands";

export { formatTable, type Print } from "./repl-support";

type TypeCounts = Record<string, { live: number; expired: number }>;

interface TokenRow {
	id: string;
	type: string;
	name: string | null;
	scopes: string[];
	createdAt: string;
	expiresAt: string | null;
	lastUsedAt: string | null;
}

/** A positive whole number from a REPL option, or an error naming the option. */
export function positiveInteger(value: unknown, option: string): number | undefined {
	if (value === undefined || value === true) return undefined;
	const n = Number(value);
	if (!Number.isInteger(n) || n < 1)
		throw new Error(`--${option} must be a positive whole number`);
	return n;
}

/** `tokens-stats`: live and expired tokens by type, over the whole store. */
export async function tokensStats(broker: ServiceBroker, print: Print): Promise<TypeCounts> {
	const counts = await broker.call<TypeCounts, object>("tokens.stats", {});
	const types = Object.keys(counts).sort();
	if (types.length === 0) {
		print("No tokens.");
		return counts;
	}
	let live = 0;
	let expired = 0;
	const rows = [["type", "live", "expired"]];
	for (const type of types) {
		rows.push([type, String(counts[type].live), String(counts[type].expired)]);
		live += counts[type].live;
		expired += counts[type].expired;
	}
	rows.push(["(all)", String(live), String(expired)]);
	formatTable(rows).forEach(l => print(l));
	return counts;
}

/** `tokens-cleanup`: removes expired tokens now (what the nightly job does). */
export async function tokensCleanup(
	broker: ServiceBroker,
	args: { batchSize?: number },
	print: Print
): Promise<{ removed: number }> {
	const params = args.batchSize === undefined ? {} : { batchSize: args.batchSize };
	const result = await broker.call<{ removed: number }, object>("tokens.removeExpired", params);
	print(`Removed ${result.removed} expired token(s).`);
	return result;
}

/** `tokens-list`: an owner's tokens (never the tokens themselves). */
export async function tokensList(
	broker: ServiceBroker,
	args: { owner: string; type?: string },
	print: Print
): Promise<TokenRow[]> {
	const tokens = await broker.call<TokenRow[], object>("tokens.listByOwner", ownerParams(args));
	if (tokens.length === 0) {
		print(`${args.owner} has no ${args.type ? `${args.type} ` : ""}tokens.`);
		return tokens;
	}
	const rows = [["id", "type", "name", "scopes", "expires", "last used"]];
	for (const t of tokens) {
		rows.push([
			t.id,
			t.type,
			t.name ?? "",
			t.scopes.join(","),
			t.expiresAt ?? "never",
			t.lastUsedAt ?? "never"
		]);
	}
	formatTable(rows).forEach(l => print(l));
	return tokens;
}

/**
 * `tokens-revoke`: removes all of an owner's tokens (optionally of one type). Without `--yes` it only
 * says what it would remove: a slip of the finger should not sign someone out everywhere.
 */
export async function tokensRevoke(
	broker: ServiceBroker,
	args: { owner: string; type?: string; yes?: boolean },
	print: Print
): Promise<{ removed: number; dryRun: boolean }> {
	const what = `${args.type ? `${args.type} ` : ""}token(s) of ${args.owner}`;
	if (!args.yes) {
		const tokens = await broker.call<TokenRow[], object>(
			"tokens.listByOwner",
			ownerParams(args)
		);
		print(`Would remove ${tokens.length} ${what}. Run again with --yes to remove them.`);
		return { removed: 0, dryRun: true };
	}
	const result = await broker.call<{ removed: number }, object>(
		"tokens.removeByOwner",
		ownerParams(args)
	);
	print(`Removed ${result.removed} ${what}.`);
	return { removed: result.removed, dryRun: false };
}

function ownerParams(args: { owner: string; type?: string }): Record<string, string> {
	return args.type ? { owner: args.owner, type: args.type } : { owner: args.owner };
}

interface KeyRow {
	kid: string;
	alg: string;
	status: string;
	activatesAt: string;
}

/**
 * `keys-rotate`: a new access-token signing key, published now and signing after the delay (auth's
 * JWT_KEY_PUBLISH_DELAY unless given); then the keys and what each does.
 */
export async function keysRotate(
	broker: ServiceBroker,
	print: Print,
	publishDelay?: number
): Promise<KeyRow[]> {
	const { kid, activatesAt, keys } = await broker.call<
		{ kid: string; activatesAt: string; keys: KeyRow[] },
		object
	>("auth.rotateSigningKey", publishDelay === undefined ? {} : { publishDelay });
	print(`Key ${kid} added; it signs from ${activatesAt}.`);
	formatTable([
		["kid", "alg", "status", "activates"],
		...keys.map(k => [k.kid, k.alg, k.status, k.activatesAt])
	]).forEach(l => print(l));
	return keys;
}

/** `passkeys-list <login>`: a user's passkeys (names, kinds, last use; never a key). */
export async function passkeysList(
	broker: ServiceBroker,
	login: string,
	print: Print
): Promise<PasskeyRow[]> {
	const passkeys = await broker.call<PasskeyRow[], object>("auth.userPasskeys", { login });
	if (passkeys.length === 0) {
		print(`${login} has no passkeys.`);
		return passkeys;
	}
	formatTable([
		["id", "name", "kind", "created", "last used", "cloned"],
		...passkeys.map(p => [
			p.id,
			p.name,
			p.deviceType === "multiDevice" ? "synced" : "device-bound",
			p.createdAt,
			p.lastUsedAt ?? "never",
			p.cloned ? "yes" : ""
		])
	]).forEach(l => print(l));
	return passkeys;
}

interface PasskeyRow {
	id: string;
	name: string;
	deviceType: string;
	createdAt: string;
	lastUsedAt: string | null;
	cloned: boolean;
}

/** `audit-verify`: walks every audit chain; names the first problem of each. */
export async function auditVerify(broker: ServiceBroker, print: Print): Promise<AuditReport> {
	const report = await broker.call<AuditReport, object>("audit.verify", {});
	print(`${report.entries} entries in ${report.chains} chain(s).`);
	for (const p of report.problems) print(describeAuditProblem(p));
	if (report.problems.length === 0) print("Every chain verifies.");
	return report;
}

export interface AuditReport {
	chains: number;
	entries: number;
	problems: ChainProblem[];
}

/** One line for a chain's first problem (npm run audit:verify prints the same). */
export function describeAuditProblem(p: ChainProblem): string {
	switch (p.kind) {
		case "forged":
			return `${p.chain}: entry ${p.id} does not verify (changed, or inserted without the key)`;
		case "inserted":
			return `${p.chain}: entry ${p.id} was inserted (its seq repeats or goes back)`;
		case "removed":
			return `${p.chain}: ${p.missing || "some"} entr${p.missing === 1 ? "y" : "ies"} removed after ${p.after ?? "the start"}`;
		case "checkpoint":
			return `${p.chain}: the retention checkpoint was changed`;
	}
}

const typeOption = { option: "-t, --type <type>", description: "only tokens of this type" };

const commands: ReplCommand[] = [
	{
		command: "tokens-stats",
		description: "Live and expired tokens by type",
		action: broker => run(print => tokensStats(broker, print))
	},
	{
		command: "tokens-cleanup",
		description: "Remove expired tokens now (the nightly job)",
		options: [{ option: "-b, --batch-size <n>", description: "tokens per batch" }],
		action: (broker, args) =>
			run(print =>
				tokensCleanup(
					broker,
					{ batchSize: positiveInteger(args.options.batchSize, "batch-size") },
					print
				)
			)
	},
	{
		command: "tokens-list <owner>",
		description: "An owner's tokens (ids, types, expiry, last use; never the tokens)",
		options: [typeOption],
		action: (broker, args) =>
			run(print =>
				tokensList(
					broker,
					{ owner: String(args.owner), type: optionalString(args.options.type) },
					print
				)
			)
	},
	{
		command: "tokens-revoke <owner>",
		description: "Remove all of an owner's tokens (dry run unless --yes)",
		options: [typeOption, { option: "-y, --yes", description: "really remove them" }],
		action: (broker, args) =>
			run(print =>
				tokensRevoke(
					broker,
					{
						owner: String(args.owner),
						type: optionalString(args.options.type),
						yes: args.options.yes === true
					},
					print
				)
			)
	},
	{
		command: "passkeys-list <login>",
		description: "A user's passkeys (by username or address; never a key)",
		action: (broker, args) => run(print => passkeysList(broker, String(args.login), print))
	},
	{
		command: "audit-verify",
		description: "Walk every audit chain; name the first changed, removed or inserted entry",
		action: broker => run(print => auditVerify(broker, print))
	},
	{
		command: "keys-rotate",
		description: "Add an access-token signing key (it signs after the publish delay)",
		options: [
			{ option: "-d, --delay <seconds>", description: "publish delay (default: auth's)" }
		],
		action: (broker, args) =>
			run(print =>
				keysRotate(
					broker,
					print,
					args.options.delay === undefined ? undefined : Number(args.options.delay)
				)
			)
	}
];

/**
 * The commands for `replOptions.customCommands` in moleculer.config.ts. (moleculer's typing says a
 * command's action gets `string[]`; moleculer-repl passes the parsed object typed above.)
 */
export const replCommands = [...commands, ...userCommands] as unknown as NonNullable<
	ReplOptions["customCommands"]
>;

function optionalString(value: unknown): string | undefined {
	return typeof value === "string" && value !== "" ? value : undefined;
}
