/**
 * API keys beyond scopes and expiry, over REST and through auth.verifyKey: metadata returned on
 * verification, disabling and enabling without deleting, rerolling with an overlap, and the reason
 * a key does not pass (NOT_FOUND, EXPIRED, DISABLED).
 */
import type { KeyVerification } from "../../../services/auth/api-keys/api-key-settings.mixin";
import { apiKeyGateway } from "../../helpers/api-keys";
import { TEST_ADMIN_TOKEN } from "../../helpers/gateway";
import { postJson, request } from "../../helpers/http";

interface MadeKey {
	key: { id: string; expiresAt: string | null };
	token: string;
}

describe("API key settings", () => {
	const keys = apiKeyGateway("kit", "a long enough password", 1000);
	const api = keys.url;
	const { me } = keys;
	const verify = (key: string) => keys.verify<KeyVerification>(key);
	const create = async (json: object) => (await keys.post(json)).body as MadeKey;

	it("returns the key's metadata on verification, with VALID", async () => {
		const made = await create({ name: "ci", metadata: { plan: "pro", seats: 3 } });
		expect(await verify(made.token)).toMatchObject({
			valid: true,
			code: "VALID",
			keyId: made.key.id,
			name: "ci",
			metadata: { plan: "pro", seats: 3 }
		});
		expect((await verify("mtk_notakey")).code).toBe("NOT_FOUND");
		const big = await postJson(
			api("/api/me/api-keys"),
			{ name: "big", metadata: { blob: "x".repeat(2000) } },
			keys.bearer
		);
		expect(big.status).toBe(422);
		expect(JSON.stringify(big.body)).toContain('"field":"metadata"');
	});

	it("disables a key without deleting it, and enables it again", async () => {
		const made = await create({ name: "toggle" });
		const put = (json: object) =>
			request(api(`/api/me/api-keys/${made.key.id}`), {
				method: "PUT",
				headers: keys.bearer,
				json
			});
		expect((await put({ enabled: false })).status).toBe(200);
		expect((await me(made.token)).status).toBe(401);
		expect(await verify(made.token)).toMatchObject({ valid: false, code: "DISABLED" });
		const introspected = await request(api("/oauth2/introspect"), {
			method: "POST",
			headers: {
				authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
				"content-type": "application/x-www-form-urlencoded"
			},
			body: `token=${made.token}`
		});
		expect(introspected.body).toEqual({ active: false });
		// Still listed, not deleted.
		const listed = await request(api("/api/me/api-keys"), { headers: keys.bearer });
		expect((listed.body as { id: string }[]).map(k => k.id)).toContain(made.key.id);
		expect((await put({ enabled: true, metadata: { note: "back" } })).status).toBe(200);
		expect((await me(made.token)).status).toBe(200);
		expect(await verify(made.token)).toMatchObject({
			code: "VALID",
			metadata: { note: "back" }
		});
		expect(
			(
				await request(api("/api/me/api-keys/no-such-key"), {
					method: "PUT",
					headers: keys.bearer,
					json: { enabled: false }
				})
			).status
		).toBe(404);
	});

	it("rerolls with an overlap: both keys work, then only the new one", async () => {
		const old = await create({ name: "deploy", scopes: [], metadata: { env: "prod" } });
		const rerolled = await postJson(
			api(`/api/me/api-keys/${old.key.id}/reroll`),
			{ overlap: 60 },
			keys.bearer
		);
		expect(rerolled.status).toBe(200);
		const { token, previous } = rerolled.body as {
			token: string;
			previous: { expiresAt: string };
		};
		expect(token).not.toBe(old.token);
		expect(Date.parse(previous.expiresAt) - Date.now()).toBeGreaterThan(55_000);
		expect(Date.parse(previous.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
		for (const k of [old.token, token]) expect((await me(k)).status).toBe(200);
		expect(await verify(token)).toMatchObject({ name: "deploy", metadata: { env: "prod" } });

		// With no overlap the old key dies at once.
		const again = await postJson(
			api(`/api/me/api-keys/${(await verify(token)).keyId}/reroll`),
			{ overlap: 0 },
			keys.bearer
		);
		expect(again.status).toBe(200);
		expect((await me(token)).status).toBe(401);
		expect((await me((again.body as { token: string }).token)).status).toBe(200);
		const bad = await postJson(
			api(`/api/me/api-keys/${old.key.id}/reroll`),
			{ overlap: 86401 },
			keys.bearer
		);
		expect(JSON.stringify(bad.body)).toContain('"field":"overlap"');
	});

	it("says EXPIRED for a key past its expiry", async () => {
		const made = await create({ name: "short", expiry: 1 });
		await new Promise(r => setTimeout(r, 1100));
		expect(await verify(made.token)).toMatchObject({ valid: false, code: "EXPIRED" });
	});
});
