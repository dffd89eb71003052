/**
 * Sessions of `auth`: refresh-token families, their rotation with reuse detection (RFC 9700
 * §4.14.2), sign-out and sign-out everywhere. See docs/sessions.md.
 */
import { TOKEN_TYPES } from "../../../lib/tokens/token-types";
import { randomUUID } from "node:crypto";
import { type Context } from "moleculer";
import { nextTokensCutoff } from "../../../lib/auth/jwt";
import { type UserRecord } from "../../../lib/auth/store/user-store";
import {
	newFamilyRecord,
	fingerprintOf,
	type RefreshFamilyRecord,
	type RefreshFamilyStore
} from "../../../lib/auth/store/refresh-family-store";
import { familyStores } from "../../../lib/auth/store/auth-store-adapters";
import { MAX_TOKEN_LENGTH, TOKEN_STRING } from "../../../lib/auth/auth-params";
import { invalidToken } from "../../../lib/auth/auth-errors";
import type {
	AuthMeta,
	AuthUser,
	SessionTokens,
	SignInResult,
	UserEventPayload
} from "../../../lib/auth/auth-types";
import { truncatedAddress } from "../../../lib/http/client-address";
import type { TokenEntity } from "../../../lib/tokens/token-types";
import { authMixin } from "../auth-internals";
import type {
	AuthContext,
	AuthThis,
	RefreshParams,
	SessionHolder,
	SignOutEverywhereParams
} from "../auth-internals";
import { isSubjectHolder } from "../../../lib/auth/subjects";
import {
	RefreshRotation,
	type RefreshTokenClient
} from "../../../lib/auth/sessions/refresh-rotation";
import { isLocked } from "../../../lib/auth/admin/account-status";
import { count } from "../../../lib/broker/project-metrics";

/** The `tokens` calls of a rotation, made with the request's context. */
function refreshTokenClient(ctx: AuthContext): RefreshTokenClient {
	return {
		consume: (token, owner) =>
			ctx.call<TokenEntity | null, object>("tokens.consume", {
				type: TOKEN_TYPES.refresh,
				token,
				owner,
				raced: true
			}),
		generate: (owner, expiry, data) =>
			ctx.call<TokenEntity & { token: string }, object>("tokens.generate", {
				type: TOKEN_TYPES.refresh,
				owner,
				expiry,
				data
			}),
		revoke: async (id, owner) => void (await ctx.call("tokens.revoke", { id, owner }))
	};
}

function countRefresh<T>(service: AuthThis, result: string, answer: T): T {
	count(service.broker, "mtk.auth.refreshes.total", { result });
	return answer;
}

const SessionsMixin = authMixin({
	actions: {
		/**
		 * Spends a refresh token for a new access token and a new refresh token. Presenting a refresh
		 * token that was already rotated revokes its whole family. Never retried: the first attempt
		 * may have spent the token.
		 */
		refresh: {
			params: { $$strict: true, refreshToken: TOKEN_STRING },
			retryPolicy: { enabled: false },
			handler(ctx: AuthContext<RefreshParams>): Promise<SessionTokens> {
				return this.rotate(ctx, ctx.params.refreshToken);
			}
		},

		/** Ends the session of a refresh token (its whole family). Same answer for any token. */
		signOut: {
			params: { $$strict: true, refreshToken: TOKEN_STRING },
			retryPolicy: { enabled: false },
			async handler(ctx: AuthContext<RefreshParams>): Promise<{ ok: true }> {
				const { refreshToken } = ctx.params;
				if (refreshToken.length > MAX_TOKEN_LENGTH) return { ok: true };
				const family = await this.families.findByFingerprint(fingerprintOf(refreshToken));
				if (family) {
					if (await this.revokeFamily(ctx, family, "sign-out")) {
						ctx.emit<UserEventPayload>("auth.signedOut", { userId: family.userId });
					}
				} else {
					await ctx.call("tokens.remove", {
						type: TOKEN_TYPES.refresh,
						token: refreshToken
					});
				}
				return { ok: true };
			}
		},

		/**
		 * Ends every session of the signed-in user: refresh tokens removed, access tokens rejected;
		 * with `includeApiKeys`, their API keys revoked too. Needs a session, not an API key.
		 */
		signOutEverywhere: {
			params: { $$strict: true, includeApiKeys: { type: "boolean", optional: true } },
			retryPolicy: { enabled: false },
			async handler(
				ctx: AuthContext<SignOutEverywhereParams>
			): Promise<{ ok: true; revoked: number; apiKeysRevoked: number }> {
				this.requireSession(ctx, "Signing out everywhere");
				const user = await this.requireCallerRecord(ctx);
				const revoked = await this.revokeAllSessions(ctx, user._id, "sign-out-everywhere");
				const apiKeysRevoked =
					ctx.params.includeApiKeys === true
						? (
								await ctx.call<{ removed: number }, object>(
									"tokens.removeByOwner",
									{
										owner: user._id,
										type: TOKEN_TYPES.apiKey
									}
								)
							).removed
						: 0;
				await this.store.update(
					user._id,
					{ tokensValidAfter: nextTokensCutoff(user.tokensValidAfter, Date.now()) },
					Date.now()
				);
				ctx.emit<UserEventPayload & { revoked: number }>("auth.signedOutEverywhere", {
					userId: user._id,
					revoked
				});
				return { ok: true, revoked, apiKeysRevoked };
			}
		}
	},
	methods: {
		/** A new refresh-token family, its first refresh token, and an access token. */
		async startSession(
			this: AuthThis,
			ctx: Context,
			user: UserRecord,
			method: string
		): Promise<SignInResult> {
			this.refuseLocked(user);
			const { family, refreshToken } = await this.openFamily(ctx, user._id, null);
			if (this.settings.maxSessions > 0) await this.endOldestSessions(ctx, user._id);
			const access = await this.accessTokens.issue(
				user._id,
				user.tokensValidAfter / 1000,
				family,
				user.scopes
			);
			count(this.broker, "mtk.auth.sign_ins.total", { method, result: "success" });
			this.later("last sign-in", () => this.store.recordSignIn(user._id, Date.now()));
			ctx.emit<UserEventPayload & { method: string }>("auth.signedIn", {
				userId: user._id,
				method
			});
			return {
				accessToken: access.token,
				refreshToken,
				tokenType: "Bearer",
				expiresIn: access.expiresIn,
				user: this.toPublicUser(user)
			};
		},

		/**
		 * A new family for `holder` (a user's id, or a service-API subject's), with its first refresh
		 * token; `scopes` only for a service-API session.
		 */
		async openFamily(
			this: AuthThis,
			ctx: Context,
			holder: string,
			scopes: string[] | null
		): Promise<{ family: string; refreshToken: string }> {
			const family = randomUUID();
			const refresh = await ctx.call<TokenEntity & { token: string }, object>(
				"tokens.generate",
				{
					type: TOKEN_TYPES.refresh,
					owner: holder,
					expiry: this.settings.refreshTokenTtl,
					data: { family, generation: 1 }
				}
			);
			try {
				const first = newFamilyRecord({
					id: family,
					userId: holder,
					fingerprint: fingerprintOf(refresh.token),
					createdAt: Date.now(),
					expiresAt: Date.parse(refresh.expiresAt!),
					userAgent: (ctx.meta as AuthMeta).userAgent,
					clientAddress: truncatedAddress((ctx.meta as AuthMeta).ip)
				});
				await this.families.insert(scopes === null ? first : { ...first, scopes });
			} catch (err) {
				// No family, no session: the token must not outlive this failure.
				await ctx.call("tokens.revoke", { id: refresh.id, owner: holder });
				throw err;
			}
			return { family, refreshToken: refresh.token };
		},

		/**
		 * Whom a family's access tokens are for: the user (gone: null), or a service-API subject,
		 * who has no record here and whose scopes the family keeps.
		 */
		async holderOf(this: AuthThis, family: RefreshFamilyRecord): Promise<SessionHolder | null> {
			if (isSubjectHolder(family.userId)) {
				return {
					_id: family.userId,
					tokensValidAfter: 0,
					grantedScopes: family.scopes ?? []
				};
			}
			// A locked account's family was revoked with the lock; this also covers a race with it.
			const user = await this.store.findById(family.userId);
			return user && !isLocked(user, Date.now()) ? user : null;
		},

		/** Refresh-token rotation (lib/auth/sessions/refresh-rotation) for this request. */
		async rotate(
			this: AuthThis,
			ctx: AuthContext,
			refreshToken: string
		): Promise<SessionTokens> {
			await this.checkAddress(ctx);
			const outcome =
				refreshToken.length > MAX_TOKEN_LENGTH
					? ({ result: "refused" } as const)
					: await this.rotation.rotate(refreshToken, {
							userAgent: ctx.meta.userAgent ?? null,
							clientAddress: truncatedAddress(ctx.meta.ip),
							tokens: refreshTokenClient(ctx),
							reuseDetected: family => {
								this.logger.warn(
									`Refresh token reuse: family ${family._id} of user ${family.userId} revoked.`
								);
								ctx.emit<UserEventPayload & { family: string }>(
									"auth.refreshTokenReused",
									{ userId: family.userId, family: family._id }
								);
							}
						});
			if (outcome.result === "rotated" || outcome.result === "successor") {
				return countRefresh(this, outcome.result, outcome.tokens);
			}
			if (outcome.result === "reused") {
				count(this.broker, "mtk.auth.refreshes.total", { result: "reused" });
			}
			await this.recordAddressFailure(ctx);
			throw invalidToken();
		},

		/** The rotation, on this service's families, sealed box and holders. */
		newRefreshRotation(this: AuthThis): RefreshRotation<SessionHolder> {
			return new RefreshRotation<SessionHolder>({
				families: this.families,
				box: this.successorBox,
				settings: this.settings,
				holderOf: family => this.holderOf(family),
				sessionTokens: (holder, token, session) =>
					this.sessionTokens(holder, token, session)
			});
		},

		/** Every live session of the caller's but the one making this call. */
		async endOtherSessions(this: AuthThis, ctx: Context, caller: AuthUser, reason: string) {
			const live = await this.families.listLiveOfUser(caller.id, Date.now());
			for (const family of live) {
				if (family._id !== caller.session) await this.revokeFamily(ctx, family, reason);
			}
		},

		/** AUTH_MAX_SESSIONS: the user's oldest live sessions end, leaving room for one more. */
		async endOldestSessions(this: AuthThis, ctx: Context, userId: string): Promise<void> {
			const live = await this.families.listLiveOfUser(userId, Date.now());
			// The session just started is the newest; keep it and the max - 1 before it.
			for (const family of live.slice(
				0,
				Math.max(0, live.length - this.settings.maxSessions)
			)) {
				await this.revokeFamily(ctx, family, "session-limit");
			}
		},

		async sessionTokens(
			this: AuthThis,
			holder: SessionHolder,
			refreshToken: string,
			session: string
		): Promise<SessionTokens> {
			const access = await this.accessTokens.issue(
				holder._id,
				holder.tokensValidAfter / 1000,
				session,
				"grantedScopes" in holder ? holder.grantedScopes : holder.scopes
			);
			return {
				accessToken: access.token,
				refreshToken,
				tokenType: "Bearer",
				expiresIn: access.expiresIn
			};
		},

		/**
		 * Revokes a family; returns whether this call was the one that revoked it. The record is the
		 * revocation: every path that takes a refresh token (rotation, introspection, RFC 7009,
		 * sign-out) looks its family up first and refuses a revoked one, and a rotation in flight
		 * fails its compare-and-set. So the family's live token is not hunted down among all of the
		 * owner's tokens (that made ending one session cost as much as the user has sessions): it is
		 * dead from now on and removed by the nightly cleanup when it expires.
		 */
		async revokeFamily(
			this: AuthThis,
			_ctx: Context,
			family: RefreshFamilyRecord,
			reason: string
		): Promise<boolean> {
			return (await this.families.revoke(family._id, reason, Date.now())) !== null;
		},

		/** Every family of the user first (see revokeFamily), then all their refresh tokens. */
		async revokeAllSessions(
			this: AuthThis,
			ctx: Context,
			userId: string,
			reason: string
		): Promise<number> {
			await this.families.revokeAllOfUser(userId, reason, Date.now());
			const { removed } = await ctx.call<{ removed: number }, object>(
				"tokens.removeByOwner",
				{ owner: userId, type: TOKEN_TYPES.refresh }
			);
			return removed;
		},

		/**
		 * Refresh-token families live beside the users, through the same connection: the users'
		 * MongoDB database or PostgreSQL schema, or a second NeDB file in the same data folder (moleculer-db gives a
		 * service one collection).
		 */
		openFamilyStore(this: AuthThis): Promise<RefreshFamilyStore> {
			return this.openSideStore(familyStores);
		}
	}
});

export default SessionsMixin;
