/**
 * The shape most admin actions on one account share: an administrator (recent for a dangerous
 * one), the account `:id` (404 when there is none), an optional refusal, the audit entry written
 * before anything changes (lib/audit), then the change itself; the answer is `{ ok: true }`.
 */
import type { UserRecord } from "../../../lib/auth/store/user-store";
import type { AdminActor, AuthContext, AuthThis, IdParams } from "../auth-internals";

export const USER_ID = { type: "string", min: 1, max: 64 } as const;

export interface AccountAction {
	/** The audit entry's type, after `admin.`. */
	audited: string;
	/** Lock, delete and role changes: an admin's own session must be recent. */
	dangerous: boolean;
	/** Throws when the action may not be made on this account (before anything is recorded). */
	refuse?: (actor: AdminActor, user: UserRecord) => void;
	act(this: AuthThis, ctx: AuthContext<IdParams>, user: UserRecord): Promise<void>;
}

export function accountAction(action: AccountAction) {
	return {
		params: { $$strict: true, id: USER_ID },
		retryPolicy: { enabled: false },
		async handler(this: AuthThis, ctx: AuthContext<IdParams>): Promise<{ ok: true }> {
			const { actor, user } = await this.adminAndTarget(ctx, action.dangerous);
			action.refuse?.(actor, user);
			await this.recordAdminAction(ctx, actor, action.audited, user._id);
			await action.act.call(this, ctx, user);
			return { ok: true };
		}
	};
}
