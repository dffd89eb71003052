/**
 * Refresh-token rotation with reuse detection (RFC 9700 §4.14.2), as plain logic: given the
 * families (lib/auth/store/refresh-family-store) and a small client for the `tokens` calls, it
 * needs no broker and is unit-tested with fakes (test/unit/auth/refresh-rotation.spec.ts).
 * services/auth/sessions/refresh-sessions.mixin answers the action with it.
 *
 * 1. Find the family by the token's fingerprint. Unknown or revoked: refused.
 * 2. Not the family's live token: within the reuse interval, the live token's immediate parent
 *    gets the same successor (a second tab refreshing at once, a retried request); anything else
 *    was rotated away and is being replayed: the family is revoked.
 * 3. Spend it (tokens.consume): of concurrent refreshes with one token exactly one gets it. The
 *    others wait for its rotation and get its successor (reuse interval), or, with the interval
 *    off, are replays and revoke the family.
 * 4. Issue the next token and make it the live one with a compare-and-set that fails if the family
 *    was revoked meanwhile; then the new token is revoked as well.
 */
import type { SealedBox } from "../../common/sealed-box";
import type { TokenEntity } from "../../tokens/token-types";
import type { SessionTokens } from "../auth-types";
import {
	fingerprintOf,
	type RefreshFamilyRecord,
	type RefreshFamilyStore
} from "../store/refresh-family-store";

/** How long a refresh that lost the race waits for the winner's rotation to land. */
export const SUCCESSOR_WAIT_MS = 3000;

/** The `tokens` calls a rotation makes (bound to the request that asks). */
export interface RefreshTokenClient {
	/** Spends the token if it is still live and the owner's; null when another spent it first. */
	consume(token: string, owner: string): Promise<TokenEntity | null>;
	generate(
		owner: string,
		expiry: number,
		data: { family: string; generation: number }
	): Promise<TokenEntity & { token: string }>;
	revoke(id: string, owner: string): Promise<void>;
}

/** Whom a family's tokens are for: the caller's code decides (a user, a service-API subject). */
export interface RotationHost<H extends { _id: string }> {
	families: RefreshFamilyStore;
	box: SealedBox;
	settings: { refreshTokenTtl: number; refreshHistory: number; refreshReuseInterval: number };
	/** The holder of a family's tokens, or null when it may have none (gone, locked). */
	holderOf(family: RefreshFamilyRecord): Promise<H | null>;
	/** An access token for the holder beside `refreshToken`. */
	sessionTokens(holder: H, refreshToken: string, session: string): Promise<SessionTokens>;
}

/** One refresh request: who sends it, its `tokens` calls, and who hears of a replay. */
export interface RotationRequest {
	/** Where the session is used from now (the family's last one is kept when this is null). */
	userAgent: string | null;
	clientAddress: string | null;
	tokens: RefreshTokenClient;
	/** A replayed token revoked its family (called once per family). */
	reuseDetected(family: RefreshFamilyRecord): void;
}

export type RotationOutcome =
	{ result: "rotated" | "successor"; tokens: SessionTokens } | { result: "refused" | "reused" };

export class RefreshRotation<H extends { _id: string }> {
	constructor(private readonly host: RotationHost<H>) {}

	async rotate(refreshToken: string, request: RotationRequest): Promise<RotationOutcome> {
		const { families, settings } = this.host;
		const fingerprint = fingerprintOf(refreshToken);
		const family = await families.findByFingerprint(fingerprint);
		if (!family || family.revokedAt !== null) return { result: "refused" };

		if (family.current !== fingerprint) {
			const again = await this.successorWithinInterval(family, fingerprint);
			if (again) return { result: "successor", tokens: again };
			return this.reused(family, request);
		}
		// The family vouches for the token: losing a race to a concurrent refresh is no guess.
		const spent = await request.tokens.consume(refreshToken, family.userId);
		if (!spent) {
			// Expired: the family simply ended. Otherwise a concurrent refresh spent it first.
			if (family.expiresAt <= Date.now()) return { result: "refused" };
			if (settings.refreshReuseInterval > 0) {
				const successor = await this.awaitSuccessor(family._id, fingerprint);
				return successor
					? { result: "successor", tokens: successor }
					: { result: "refused" };
			}
			return this.reused(family, request);
		}
		const holder = await this.host.holderOf(family);
		if (!holder) return { result: "refused" };
		const next = await this.issueSuccessor(family, holder, fingerprint, request);
		return {
			result: "rotated",
			tokens: await this.host.sessionTokens(holder, next.token, family._id)
		};
	}

	/** Step 4: the next token, made the live one by a compare-and-set on the spent one. */
	private async issueSuccessor(
		family: RefreshFamilyRecord,
		holder: H,
		fingerprint: string,
		request: RotationRequest
	): Promise<TokenEntity & { token: string }> {
		const { settings } = this.host;
		const next = await request.tokens.generate(holder._id, settings.refreshTokenTtl, {
			family: family._id,
			generation: family.generation + 1
		});
		const sealed =
			settings.refreshReuseInterval > 0 ? this.host.box.seal(next.token, family._id) : null;
		const rotated = await this.host.families.rotate(family._id, {
			expected: fingerprint,
			next: {
				fingerprint: fingerprintOf(next.token),
				expiresAt: Date.parse(next.expiresAt!),
				rotatedAt: Date.now(),
				sealed,
				userAgent: request.userAgent ?? family.userAgent ?? null,
				clientAddress: request.clientAddress ?? family.clientAddress ?? null
			},
			history: settings.refreshHistory
		});
		if (!rotated) {
			// The family was revoked while this refresh was in flight (a replay of this same token,
			// a sign-out). This call spent the token first, so it answers, as it would have had it
			// finished a moment earlier; the new refresh token dies with its family.
			await request.tokens.revoke(next.id, holder._id);
		}
		return next;
	}

	/** A replay: the family is revoked (the host hears of it once). */
	private async reused(
		family: RefreshFamilyRecord,
		request: RotationRequest
	): Promise<RotationOutcome> {
		if ((await this.host.families.revoke(family._id, "reuse", Date.now())) !== null) {
			request.reuseDetected(family);
		}
		return { result: "reused" };
	}

	/** The live token again, for its immediate parent within the reuse interval; else null. */
	async successorWithinInterval(
		family: RefreshFamilyRecord,
		fingerprint: string
	): Promise<SessionTokens | null> {
		const interval = this.host.settings.refreshReuseInterval * 1000;
		if (
			interval === 0 ||
			family.revokedAt !== null ||
			family.previous !== fingerprint ||
			!family.successor ||
			family.rotatedAt == null ||
			Date.now() - family.rotatedAt > interval
		) {
			return null;
		}
		const holder = await this.host.holderOf(family);
		if (!holder) return null;
		return this.host.sessionTokens(
			holder,
			this.host.box.open(family.successor, family._id),
			family._id
		);
	}

	/** A concurrent refresh spent the token first: wait briefly for its rotation, then follow it. */
	private async awaitSuccessor(
		familyId: string,
		fingerprint: string
	): Promise<SessionTokens | null> {
		const deadline = Date.now() + SUCCESSOR_WAIT_MS;
		for (;;) {
			const family = await this.host.families.findByFingerprint(fingerprint);
			if (!family || family._id !== familyId || family.revokedAt !== null) return null;
			if (family.previous === fingerprint) {
				return this.successorWithinInterval(family, fingerprint);
			}
			if (Date.now() > deadline) return null;
			await new Promise(resolve => setTimeout(resolve, 20));
		}
	}
}
