/**
 * API keys with limits, over REST and through auth.verifyKey: named rate limits answered with 429,
 * Retry-After and X-RateLimit-*; credits spent once per use, exactly, under 1,000 concurrent checks;
 * a refill; changes by the owner; a reroll that keeps what was left; bad settings as 422s naming
 * the field.
 */
import type { KeyVerification } from "../../../services/auth/api-keys/api-key-settings.mixin";
import { apiKeyGateway } from "../../helpers/api-keys";
import { postJson, request } from "../../helpers/http";

interface MadeKey {
	key: { id: string };
	token: string;
}

describe("API key limits", () => {
	const keys = apiKeyGateway("lim", "a long enough password", 10_000);
	const api = keys.url;
	const { me, post, put } = keys;
	const verify = (key: string) => keys.verify<KeyVerification>(key);
	const create = async (json: object) => {
		const res = await post(json);
		expect(res.status).toBe(200);
		return res.body as MadeKey;
	};

	it("answers 429 with Retry-After and X-RateLimit-* once a named limit is used up", async () => {
		const made = await create({
			name: "burst",
			rateLimits: [
				{ name: "burst", limit: 3, duration: 3600 },
				{ name: "daily", limit: 100, duration: 86400 }
			]
		});
		const remaining: string[] = [];
		for (let i = 0; i < 3; i++) {
			const res = await me(made.token);
			expect(res.status).toBe(200);
			expect(res.headers.get("x-ratelimit-limit")).toBe("3");
			remaining.push(res.headers.get("x-ratelimit-remaining")!);
		}
		expect(remaining).toEqual(["2", "1", "0"]);
		const refused = await me(made.token);
		expect(refused.status).toBe(429);
		expect(refused.body).toMatchObject({ type: "RATE_LIMITED" });
		expect(refused.headers.get("x-ratelimit-limit")).toBe("3");
		expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
		const reset = Number(refused.headers.get("x-ratelimit-reset"));
		const retryAfter = Number(refused.headers.get("retry-after"));
		expect(retryAfter).toBeGreaterThan(0);
		expect(retryAfter).toBeLessThanOrEqual(3600);
		expect(Math.abs(reset - (Date.now() / 1000 + retryAfter))).toBeLessThanOrEqual(2);
		// verifyKey says why, with each limit's state.
		const verdict = await verify(made.token);
		expect(verdict).toMatchObject({ valid: false, code: "RATE_LIMITED", keyId: made.key.id });
		expect(verdict.rateLimits!.map(l => [l.name, l.passed])).toEqual([
			["burst", false],
			["daily", true]
		]);
	});

	it("spends one credit per use, exactly, under 1,000 concurrent checks of 100 credits", async () => {
		const made = await create({ name: "metered", credits: { remaining: 100 } });
		const verdicts = await Promise.all(Array.from({ length: 1000 }, () => verify(made.token)));
		const valid = verdicts.filter(v => v.code === "VALID");
		expect(valid).toHaveLength(100);
		expect(verdicts.filter(v => v.code === "USAGE_EXCEEDED")).toHaveLength(900);
		expect(new Set(valid.map(v => v.credits)).size).toBe(100);
		expect(Math.min(...valid.map(v => v.credits!))).toBe(0);
		const res = await me(made.token);
		expect(res.status).toBe(429);
		expect(res.body).toMatchObject({ type: "USAGE_EXCEEDED" });
		// No refill: no Retry-After.
		expect(res.headers.get("retry-after")).toBeNull();
	});

	it("lets the owner set the credits and limits again, and a reroll keeps what was left (credits and windows)", async () => {
		const made = await create({ name: "topped", credits: { remaining: 1 } });
		expect((await me(made.token)).status).toBe(200);
		expect((await me(made.token)).status).toBe(429);
		const changed = await put(made.key.id, {
			credits: { remaining: 5, refill: { amount: 5, interval: "day" } },
			rateLimits: [{ name: "minute", limit: 50, duration: 60 }]
		});
		expect(changed.status).toBe(200);
		expect(await verify(made.token)).toMatchObject({ code: "VALID", credits: 4 });
		const rerolled = await postJson(
			api(`/api/me/api-keys/${made.key.id}/reroll`),
			{ overlap: 0 },
			keys.bearer
		);
		expect(rerolled.status).toBe(200);
		const fresh = (rerolled.body as MadeKey).token;
		const verdict = await verify(fresh);
		expect(verdict).toMatchObject({ code: "VALID", credits: 3 });
		// The old key's use above counted in the window the rerolled key goes on with.
		expect(verdict.rateLimits).toEqual([
			expect.objectContaining({ name: "minute", limit: 50, remaining: 48 })
		]);
		expect((await verify(made.token)).code).toBe("NOT_FOUND");
	});

	it("refills an empty key at the start of its next period", async () => {
		const made = await create({
			name: "refilled",
			credits: { remaining: 0, refill: { amount: 2, interval: 60 } }
		});
		// Created with none left in this period: refused until the next minute begins.
		const first = await verify(made.token);
		expect(first.code).toBe("USAGE_EXCEEDED");
		expect(first.retryAfter).toBeGreaterThan(0);
		expect(first.retryAfter).toBeLessThanOrEqual(60);
	});

	it("answers bad limits with a 422 naming the field, and stores nothing", async () => {
		const cases: [object, string][] = [
			[{ rateLimits: [{ name: "a", limit: 0, duration: 60 }] }, "rateLimits[0].limit"],
			[{ rateLimits: [{ name: "a", limit: 1, duration: 86401 }] }, "rateLimits[0].duration"],
			[
				{
					rateLimits: [
						{ name: "a", limit: 1, duration: 1 },
						{ name: "a", limit: 2, duration: 2 }
					]
				},
				"rateLimits[1].name"
			],
			[{ credits: { remaining: -1 } }, "credits.remaining"],
			[
				{ credits: { remaining: 1, refill: { amount: 1, interval: "week" } } },
				"credits.refill.interval"
			],
			[{ credits: { remaining: 1, extra: true } }, "credits.extra"]
		];
		const before = (
			(await request(api("/api/me/api-keys"), { headers: keys.bearer })).body as unknown[]
		).length;
		for (const [json, field] of cases) {
			const res = await post({ name: "bad", ...json });
			expect(res.status).toBe(422);
			expect(JSON.stringify(res.body)).toContain(`"field":"${field}"`);
		}
		const after = (
			(await request(api("/api/me/api-keys"), { headers: keys.bearer })).body as unknown[]
		).length;
		expect(after).toBe(before);
	});
});
