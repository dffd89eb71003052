/**
 * Refresh-token rotation (lib/auth/sessions/refresh-rotation) without a broker: the families in an
 * in-memory NeDB store, the `tokens` calls faked by a map that spends each token once.
 */
import { randomBytes, randomUUID } from "node:crypto";
import Datastore from "@seald-io/nedb";
import { SealedBox } from "../../../lib/common/sealed-box";
import {
	RefreshRotation,
	type RefreshTokenClient,
	type RotationOutcome,
	type RotationRequest
} from "../../../lib/auth/sessions/refresh-rotation";
import { NedbRefreshFamilyStore } from "../../../lib/auth/store/nedb-refresh-family-store";
import {
	newFamilyRecord,
	fingerprintOf,
	type RefreshFamilyRecord
} from "../../../lib/auth/store/refresh-family-store";
import type { TokenEntity } from "../../../lib/tokens/token-types";

interface Holder {
	_id: string;
}

/** `tokens` as a map: consume spends a live token once; revoke forgets it. */
class FakeTokens implements RefreshTokenClient {
	readonly live = new Map<string, TokenEntity>();
	readonly revoked: string[] = [];
	beforeGenerate: () => Promise<void> = async () => undefined;

	async consume(token: string, owner: string): Promise<TokenEntity | null> {
		const entity = this.live.get(token);
		if (!entity || entity.owner !== owner) return null;
		this.live.delete(token);
		return entity;
	}

	async generate(owner: string, expiry: number, data: { family: string; generation: number }) {
		await this.beforeGenerate();
		const token = randomBytes(16).toString("base64url");
		const now = Date.now();
		const entity: TokenEntity = {
			id: randomUUID(),
			type: "refresh",
			owner,
			name: null,
			scopes: [],
			data,
			createdAt: new Date(now).toISOString(),
			expiresAt: new Date(now + expiry * 1000).toISOString(),
			lastUsedAt: null
		};
		this.live.set(token, entity);
		return { ...entity, token };
	}

	async revoke(id: string): Promise<void> {
		this.revoked.push(id);
		for (const [token, entity] of this.live) if (entity.id === id) this.live.delete(token);
	}
}

describe("refresh-token rotation", () => {
	let families: NedbRefreshFamilyStore;
	let tokens: FakeTokens;
	let reuses: RefreshFamilyRecord[];
	let holders: Map<string, Holder>;

	function rotation(reuseInterval: number) {
		return new RefreshRotation<Holder>({
			families,
			box: new SealedBox(randomBytes(32).toString("base64url"), "refresh-successor"),
			settings: {
				refreshTokenTtl: 3600,
				refreshHistory: 100,
				refreshReuseInterval: reuseInterval
			},
			holderOf: async family => holders.get(family.userId) ?? null,
			sessionTokens: async (holder, refreshToken, session) => ({
				accessToken: `access:${holder._id}:${session}`,
				refreshToken,
				tokenType: "Bearer",
				expiresIn: 900
			})
		});
	}

	const request = (): RotationRequest => ({
		userAgent: "test/1.0",
		clientAddress: "198.51.100.0/24",
		tokens,
		reuseDetected: family => reuses.push(family)
	});

	/** A new session of `userId`: its family and first refresh token, as sign-in makes them. */
	async function session(userId = "u1"): Promise<{ family: string; token: string }> {
		holders.set(userId, { _id: userId });
		const family = randomUUID();
		const first = await tokens.generate(userId, 3600, { family, generation: 1 });
		await families.insert(
			newFamilyRecord({
				id: family,
				userId,
				fingerprint: fingerprintOf(first.token),
				createdAt: Date.now(),
				expiresAt: Date.now() + 3_600_000
			})
		);
		return { family, token: first.token };
	}

	const tokensOf = (outcome: RotationOutcome) => {
		if (outcome.result !== "rotated" && outcome.result !== "successor") {
			throw new Error(`expected tokens, got ${outcome.result}`);
		}
		return outcome.tokens;
	};

	beforeEach(async () => {
		families = new NedbRefreshFamilyStore(new Datastore<RefreshFamilyRecord>());
		await families.ensureIndexes();
		tokens = new FakeTokens();
		reuses = [];
		holders = new Map();
	});

	it("rotates a live token, and a replay of the old one revokes the family once", async () => {
		const rotate = rotation(0);
		const { family, token } = await session();
		const first = await rotate.rotate(token, request());
		expect(first.result).toBe("rotated");
		const next = tokensOf(first).refreshToken;
		expect(next).not.toBe(token);
		expect((await families.findById(family))!).toMatchObject({
			generation: 2,
			current: fingerprintOf(next),
			userAgent: "test/1.0"
		});
		expect(await rotate.rotate(token, request())).toEqual({ result: "reused" });
		expect(reuses.map(f => f._id)).toEqual([family]);
		expect((await families.findById(family))!.revokedReason).toBe("reuse");
		// The family is over: its live token is refused too, and no second reuse is reported.
		expect(await rotate.rotate(next, request())).toEqual({ result: "refused" });
		expect(await rotate.rotate(token, request())).toEqual({ result: "refused" });
		expect(reuses).toHaveLength(1);
	});

	it("gives the parent the same successor within the reuse interval", async () => {
		const rotate = rotation(10);
		const { token } = await session();
		const first = tokensOf(await rotate.rotate(token, request()));
		const again = await rotate.rotate(token, request());
		expect(again.result).toBe("successor");
		expect(tokensOf(again).refreshToken).toBe(first.refreshToken);
		// The grandparent is a replay even within the interval.
		const second = tokensOf(await rotate.rotate(first.refreshToken, request()));
		expect(second.refreshToken).not.toBe(first.refreshToken);
		expect(await rotate.rotate(token, request())).toEqual({ result: "reused" });
	});

	it("of concurrent refreshes with one token, one rotates and the others follow it", async () => {
		const rotate = rotation(10);
		const { token } = await session();
		const outcomes = await Promise.all(
			Array.from({ length: 5 }, () => rotate.rotate(token, request()))
		);
		expect(outcomes.filter(o => o.result === "rotated")).toHaveLength(1);
		expect(outcomes.filter(o => o.result === "successor")).toHaveLength(4);
		expect(new Set(outcomes.map(o => tokensOf(o).refreshToken)).size).toBe(1);
	});

	it("without a reuse interval, a concurrent refresh that lost is a replay", async () => {
		const rotate = rotation(0);
		const { token } = await session();
		const outcomes = await Promise.all([
			rotate.rotate(token, request()),
			rotate.rotate(token, request())
		]);
		expect(outcomes.map(o => o.result).sort()).toEqual(["reused", "rotated"]);
		expect(reuses).toHaveLength(1);
	});

	it("refuses an unknown token and a family whose holder is gone", async () => {
		const rotate = rotation(10);
		expect(await rotate.rotate("never-issued", request())).toEqual({ result: "refused" });
		const { token } = await session("gone");
		holders.delete("gone");
		expect(await rotate.rotate(token, request())).toEqual({ result: "refused" });
	});

	it("a family revoked while the refresh is in flight takes the new token with it", async () => {
		const rotate = rotation(10);
		const { family, token } = await session();
		tokens.beforeGenerate = async () => {
			await families.revoke(family, "sign-out", Date.now());
		};
		const outcome = await rotate.rotate(token, request());
		// It spent the token first, so it answers; the token it got is already revoked.
		expect(outcome.result).toBe("rotated");
		expect(tokens.revoked).toHaveLength(1);
		expect(tokens.live.has(tokensOf(outcome).refreshToken)).toBe(false);
	});
});
