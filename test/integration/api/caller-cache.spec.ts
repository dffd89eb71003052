/**
 * auth's caller cache (lib/auth/caller-cache) as the gateway uses it, on one node: keys answered from
 * memory are still refused at once when revoked or disabled; uses answered from memory still count as "last used"; and nothing kept names a key in
 * clear (what a heap dump of the cache would show).
 */
import { apiKeyGateway } from "../../helpers/api-keys";
import type { CallerCache } from "../../../lib/auth/caller-cache";
import { request } from "../../helpers/http";

interface MadeKey {
	key: { id: string };
	token: string;
}

describe("the caller cache behind the gateway", () => {
	const password = "a long enough password";
	const keys = apiKeyGateway("cached", password, 10_000);
	const { me, post, put } = keys;
	const cache = () =>
		(
			keys.gw.broker.getLocalService("auth") as unknown as {
				callers: CallerCache<{ _id: string }, object>;
			}
		).callers;

	it("keeps keys under an HMAC, never the key or its random part", async () => {
		const made = (await post({ name: "dumped" })).body as MadeKey;
		for (let i = 0; i < 3; i++) expect((await me(made.token)).status).toBe(200);
		const kept = JSON.stringify([
			cache().keys.dump(),
			cache().users.dump(),
			cache().sessions.dump()
		]);
		expect(kept).toContain(made.key.id);
		expect(kept).not.toContain(made.token);
		expect(kept).not.toContain(made.token.slice(4, 34));
	});

	it("refuses a cached key at once when it is revoked or disabled", async () => {
		for (const end of ["revoke", "disable"] as const) {
			const made = (await post({ name: end })).body as MadeKey;
			expect((await me(made.token)).status).toBe(200);
			expect((await me(made.token)).status).toBe(200);
			const res =
				end === "revoke"
					? await request(keys.url(`/api/me/api-keys/${made.key.id}`), {
							method: "DELETE",
							headers: keys.bearer
						})
					: await put(made.key.id, { enabled: false });
			expect(res.status).toBe(200);
			expect((await me(made.token)).status).toBe(401);
		}
	});

	it("records uses answered from memory as the key's last use, in a batch through tokens.markUsed", async () => {
		const made = (await post({ name: "used" })).body as MadeKey;
		expect((await me(made.token)).status).toBe(200);
		const calls = jest.spyOn(keys.gw.broker, "call");
		try {
			expect((await me(made.token)).status).toBe(200);
			expect((await me(made.token)).status).toBe(200);
			// From memory: no tokens.check, and the uses go to tokens.markUsed within a second.
			expect(calls.mock.calls.filter(c => c[0] === "tokens.check")).toEqual([]);
			await new Promise(resolve => setTimeout(resolve, 1200));
			const marked = calls.mock.calls.filter(c => c[0] === "tokens.markUsed");
			// Earlier tests' uses may flush in a batch of their own meanwhile.
			expect(marked.flatMap(c => (c[1] as { ids: string[] }).ids)).toContain(made.key.id);
		} finally {
			calls.mockRestore();
		}
		const listed = (await request(keys.url("/api/me/api-keys"), { headers: keys.bearer }))
			.body as { id: string; lastUsedAt: string | null }[];
		expect(listed.find(k => k.id === made.key.id)?.lastUsedAt).toEqual(expect.any(String));
	});
});
