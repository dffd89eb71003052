/**
 * The attempt limits of `auth` (lib/auth/sign-in-attempts/attempt-limiter, lib/auth/sign-in-attempts/attempt-limits): per client address,
 * per e-mail address, per account; in memory, or shared by every node on PostgreSQL. And what
 * the answers count in the metrics (lib/auth/metrics): failed sign-ins, wrong codes, refusals.
 */
import { type Context } from "moleculer";
import {
	AttemptLimiter,
	type AttemptCounter
} from "../../../lib/auth/sign-in-attempts/attempt-limiter";
import {
	accountLimitKeys,
	type LimitSettings
} from "../../../lib/auth/sign-in-attempts/attempt-limits";
import { failureCounts, SIGN_IN_METHODS } from "../../../lib/auth/metrics";
import { tooManyAttempts } from "../../../lib/auth/auth-errors";
import type { UserRecord } from "../../../lib/auth/store/user-store";
import { count } from "../../../lib/broker/project-metrics";
import { clientKey } from "../../../lib/http/client-address";
import { SharedAttemptLimiter } from "../../../lib/auth/sign-in-attempts/postgres-attempt-log";
import { authMixin } from "../auth-internals";
import type { AuthContext, AuthLocalVars, AuthSettings, AuthThis } from "../auth-internals";

/** One attempt counter per configured limit. */
function limitersOf(
	limits: AuthSettings["limits"],
	make: (name: string, settings: LimitSettings) => AttemptCounter
): AuthLocalVars["limiters"] {
	const entries = Object.entries(limits).map(([name, l]) => [name, make(name, l)]);
	return Object.fromEntries(entries) as AuthLocalVars["limiters"];
}

/** The limits kept in this node's memory (the embedded store, MongoDB). */
export function inMemoryLimiters(limits: AuthSettings["limits"]): AuthLocalVars["limiters"] {
	return limitersOf(
		limits,
		(_name, l) => new AttemptLimiter({ maxAttempts: l.maxAttempts, windowMs: l.window * 1000 })
	);
}

const LimitsMixin = authMixin({
	hooks: {
		error: {
			/**
			 * Failed sign-ins, wrong codes, limit refusals (lib/auth/metrics); a failed sign-in is
			 * also announced (`auth.signInFailed`, for the audit trail), without what was typed.
			 */
			async "*"(this: AuthThis, ctx: Context, err: unknown): Promise<never> {
				const e = (err ?? {}) as {
					type?: string;
					code?: number;
					data?: { field?: string };
				};
				const action = ctx.action?.name ?? "";
				for (const c of failureCounts(action, e.type ?? "", e.data?.field)) {
					count(this.broker, c.metric, c.labels);
				}
				const method = SIGN_IN_METHODS[action];
				if (method && typeof e.code === "number" && e.code < 500) {
					const login = (ctx.params as { login?: unknown } | undefined)?.login;
					// A login the validator refused is not looked up (it may not even be storable).
					const user =
						typeof login === "string" && e.code !== 422 && e.code !== 400
							? await this.findByLogin(login).catch(() => null)
							: null;
					ctx.emit("auth.signInFailed", {
						userId: user?._id ?? null,
						method,
						reason: e.type ?? "ERROR"
					});
				}
				throw err;
			}
		}
	},

	methods: {
		async checkAddress(this: AuthThis, ctx: AuthContext): Promise<void> {
			const ip = ctx.meta.ip;
			if (typeof ip !== "string" || ip === "") return;
			const key = `ip:${clientKey(ip)}`;
			if ((await this.limiters.address.remaining(key)) === 0) {
				// hit() on a full key only reports when the oldest failure leaves the window.
				throw tooManyAttempts((await this.limiters.address.hit(key)).retryAfterMs);
			}
		},

		async recordAddressFailure(this: AuthThis, ctx: AuthContext): Promise<void> {
			const ip = ctx.meta.ip;
			if (typeof ip === "string" && ip !== "") {
				await this.limiters.address.hit(`ip:${clientKey(ip)}`);
			}
		},

		/** Mails per address, counted whether or not it has an account: a 429 reveals nothing. */
		async limitMail(this: AuthThis, email: string): Promise<void> {
			const attempt = await this.limiters.mail.hit(accountLimitKeys.mail(email));
			if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterMs);
		},

		/**
		 * On PostgreSQL the attempt limits are the cluster's (lib/auth/sign-in-attempts/postgres-attempt-log): an
		 * attacker spreading guesses over several auth nodes gets the budget of one.
		 */
		useSharedLimitersOnPostgres(this: AuthThis): void {
			const database = this.sharedDatabase();
			if (!database) return;
			const shared = (scope: string, l: LimitSettings) =>
				new SharedAttemptLimiter(database.sql, database.schema, scope, {
					maxAttempts: l.maxAttempts,
					windowMs: l.window * 1000
				});
			this.limiters = limitersOf(this.settings.limits, (name, l) =>
				shared(`auth.${name}`, l)
			);
		},

		accountLimitKey(user: UserRecord): string {
			return accountLimitKeys.signIn(user._id);
		}
	}
});

export default LimitsMixin;
