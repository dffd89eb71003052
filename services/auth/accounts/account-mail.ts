/**
 * The actions that mail something to whoever owns an address (a link, a code). They answer the
 * same `{ ok: true }` for any address, at once: the account is looked up after the answer, so
 * neither the answer nor its time tells whether the address has an account.
 */
import { EMAIL } from "../../../lib/auth/auth-params";
import { emailKeyOf, type UserRecord } from "../../../lib/auth/store/user-store";
import type { AuthContext, AuthThis, EmailParams } from "../auth-internals";

export function mailToAccount(
	label: string,
	send: (this: AuthThis, ctx: AuthContext<EmailParams>, user: UserRecord) => Promise<void>
) {
	return {
		params: { $$strict: true, email: EMAIL },
		retryPolicy: { enabled: false },
		async handler(this: AuthThis, ctx: AuthContext<EmailParams>): Promise<{ ok: true }> {
			await this.limitMail(ctx.params.email);
			this.later(label, async () => {
				const user = await this.store.findByEmailKey(emailKeyOf(ctx.params.email));
				if (user) await send.call(this, ctx, user);
			});
			return { ok: true };
		}
	};
}
