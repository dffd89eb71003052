/**
 * One use of an API key (lib/auth/api-key-usage/key-use) on the embedded usage store, in memory:
 * windows count every use, credits only the uses every window let through.
 */
import Datastore from "@seald-io/nedb";
import { EmbeddedKeyUsageStore } from "../../../lib/auth/api-key-usage/embedded-key-usage-store";
import {
	keyData,
	type CreditSettings,
	type RateLimit
} from "../../../lib/auth/api-key-usage/key-limits";
import { useKey } from "../../../lib/auth/api-key-usage/key-use";

const T = Date.UTC(2026, 1, 27, 13, 45, 30, 500);

describe("an API key's use", () => {
	let store: EmbeddedKeyUsageStore;

	beforeEach(() => {
		store = new EmbeddedKeyUsageStore(new Datastore());
	});
	afterEach(() => store.close());

	const key = (limits: { rateLimits?: RateLimit[]; credits?: CreditSettings }) => ({
		id: "key-1",
		data: keyData(limits).data ?? null
	});

	it("passes a key without limits without touching the store", async () => {
		const spy = jest.spyOn(store, "hit");
		expect(await useKey(store, key({}), T)).toEqual({
			code: "VALID",
			rateLimits: [],
			reported: null,
			credits: null
		});
		expect(spy).not.toHaveBeenCalled();
	});

	it("refuses past a window's limit until the window ends, and says when", async () => {
		const limited = key({ rateLimits: [{ name: "minute", limit: 2, duration: 60 }] });
		expect((await useKey(store, limited, T)).code).toBe("VALID");
		expect((await useKey(store, limited, T)).code).toBe("VALID");
		const refused = await useKey(store, limited, T);
		expect(refused).toMatchObject({ code: "RATE_LIMITED", retryAfter: 30 });
		expect(refused.reported).toMatchObject({ limit: 2, passed: false });
		expect((await useKey(store, limited, T + 30_000)).code).toBe("VALID");
	});

	it("spends one credit a use, none for a use a window refused, and refuses at zero", async () => {
		const both = key({
			rateLimits: [{ name: "minute", limit: 2, duration: 60 }],
			credits: { remaining: 3 }
		});
		await store.setCredits("key-1", { remaining: 3, refilledAt: 0 });
		expect(await useKey(store, both, T)).toMatchObject({ code: "VALID", credits: 2 });
		expect(await useKey(store, both, T)).toMatchObject({ code: "VALID", credits: 1 });
		expect((await useKey(store, both, T)).code).toBe("RATE_LIMITED");
		// The refused use spent nothing: one credit is left for the next window.
		expect(await useKey(store, both, T + 60_000)).toMatchObject({ code: "VALID", credits: 0 });
		const none = await useKey(store, both, T + 60_000);
		expect(none).toMatchObject({ code: "USAGE_EXCEEDED", credits: 0 });
		expect(none).not.toHaveProperty("retryAfter");
	});

	it("says when credits that refill come back", async () => {
		const daily = key({ credits: { remaining: 1, refill: { amount: 1, interval: "day" } } });
		await store.setCredits("key-1", { remaining: 1, refilledAt: Date.UTC(2026, 1, 27) });
		expect((await useKey(store, daily, T)).code).toBe("VALID");
		const none = await useKey(store, daily, T);
		expect(none).toMatchObject({ code: "USAGE_EXCEEDED" });
		expect(none.retryAfter).toBe(Math.ceil((Date.UTC(2026, 1, 28) - T) / 1000));
	});
});
