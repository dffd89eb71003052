/**
 * Sessions a user can see and end, over REST through the gateway: GET /api/me/sessions and
 * DELETE /api/me/sessions/:id, with the User-Agent and network recorded at sign-in and refresh,
 * the caller's own session marked, ending one killing its refresh and access tokens, nobody
 * reaching another user's sessions, and AUTH_MAX_SESSIONS ending the oldest. Then the end of
 * every session: DELETE /api/me.
 */
import type { SessionInfo } from "../../../services/auth/sessions/session-list.mixin";
import { authService } from "../../helpers/auth";
import { signUpUsers, startGateway, type TestGateway, linksAllowing } from "../../helpers/gateway";
import { postJson, request } from "../../helpers/http";
import { eventually } from "../../helpers/process";
import type { CreatedLink } from "../../../services/links.service";

interface Session {
	accessToken: string;
	refreshToken: string;
}

describe("sessions over REST", () => {
	let gw: TestGateway;
	const password = "a long enough password";
	const api = (path: string) => `${gw.url}${path}`;
	const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
	/** A new API key of the session's user, named `name`. */
	const newApiKey = async (session: Session, name: string) => {
		const res = await postJson(api("/api/me/api-keys"), { name }, bearer(session.accessToken));
		return (res.body as { token: string }).token;
	};

	beforeAll(async () => {
		gw = await startGateway({
			services: [
				authService({ requireVerifiedEmail: false, maxSessions: 3 }),
				linksAllowing("newsletter.subscribe")
			]
		});
		await signUpUsers(gw, ["sam", "tess"], password);
	});
	afterAll(() => gw.stop());

	const signIn = async (login: string, agent: string): Promise<Session> => {
		const res = await postJson(
			api("/api/auth/sign-in"),
			{ login, password },
			{ "user-agent": agent }
		);
		expect(res.status).toBe(200);
		return res.body as Session;
	};
	const list = async (session: Session) => {
		const res = await request(api("/api/me/sessions"), {
			headers: bearer(session.accessToken)
		});
		expect(res.status).toBe(200);
		return res.body as SessionInfo[];
	};

	it("lists the user's sessions with their browser and network, marking the current one", async () => {
		const laptop = await signIn("sam", "Firefox/140 laptop");
		const phone = await signIn("sam", "Safari/19 phone");
		const sessions = await list(phone);
		expect(sessions.map(s => s.userAgent)).toEqual(["Firefox/140 laptop", "Safari/19 phone"]);
		expect(sessions.map(s => s.current)).toEqual([false, true]);
		for (const s of sessions) {
			// The gateway sees 127.0.0.1: only its /24 is kept.
			expect(s.clientAddress).toBe("127.0.0.0/24");
			expect(Date.parse(s.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(s.createdAt));
		}
		expect((await list(laptop)).map(s => s.current)).toEqual([true, false]);
		// A refresh is a use, with the agent that made it.
		const res = await postJson(
			api("/api/auth/refresh"),
			{ refreshToken: laptop.refreshToken },
			{ "user-agent": "Firefox/141 laptop" }
		);
		expect(res.status).toBe(200);
		expect((await list(phone))[0].userAgent).toBe("Firefox/141 laptop");
	});

	it("ends one session: its refresh token and its access tokens stop working, the others go on", async () => {
		const keep = await signIn("tess", "keep");
		const lost = await signIn("tess", "lost phone");
		const [, lostInfo] = await list(keep);
		expect(lostInfo.userAgent).toBe("lost phone");
		const ended = await request(api(`/api/me/sessions/${lostInfo.id}`), {
			method: "DELETE",
			headers: bearer(keep.accessToken)
		});
		expect(ended).toMatchObject({ status: 200, body: { ok: true } });
		expect((await request(api("/api/me"), { headers: bearer(lost.accessToken) })).status).toBe(
			401
		);
		expect(
			(await postJson(api("/api/auth/refresh"), { refreshToken: lost.refreshToken })).status
		).toBe(401);
		expect((await request(api("/api/me"), { headers: bearer(keep.accessToken) })).status).toBe(
			200
		);
		expect((await list(keep)).map(s => s.userAgent)).toEqual(["keep"]);
	});

	it("never shows or ends another user's session (404), and needs a session, not an API key", async () => {
		const sam = await signIn("sam", "sam");
		const tess = await signIn("tess", "tess");
		const tessSessions = await list(tess);
		for (const s of tessSessions) {
			expect((await list(sam)).some(mine => mine.id === s.id)).toBe(false);
			const res = await request(api(`/api/me/sessions/${s.id}`), {
				method: "DELETE",
				headers: bearer(sam.accessToken)
			});
			expect(res).toMatchObject({ status: 404, body: { type: "NOT_FOUND" } });
		}
		expect((await request(api("/api/me"), { headers: bearer(tess.accessToken) })).status).toBe(
			200
		);
		const apiKey = await newApiKey(sam, "ci");
		const viaKey = await request(api("/api/me/sessions"), { headers: { "x-api-key": apiKey } });
		expect(viaKey).toMatchObject({ status: 403, body: { type: "SESSION_REQUIRED" } });
	});

	it("ends the oldest session when a sign-in would exceed AUTH_MAX_SESSIONS (3 here)", async () => {
		const first = await signIn("tess", "oldest");
		for (const agent of ["b", "c", "d"]) await signIn("tess", agent);
		const after = await signIn("tess", "newest");
		const sessions = await list(after);
		expect(sessions).toHaveLength(3);
		expect(sessions.map(s => s.userAgent)).toEqual(["c", "d", "newest"]);
		expect((await request(api("/api/me"), { headers: bearer(first.accessToken) })).status).toBe(
			401
		);
	});

	describe("deleting the account (DELETE /api/me)", () => {
		it("needs the current password, then removes the user and everything they own", async () => {
			await signUpUsers(gw, ["uma"], password);
			const session = await signIn("uma", "uma");
			const other = await signIn("uma", "uma's phone");
			const apiKey = await newApiKey(session, "ci");
			const me = await request(api("/api/me"), { headers: bearer(session.accessToken) });
			const userId = (me.body as { id: string }).id;
			const link = await gw.broker.call<CreatedLink, object>("links.create", {
				owner: userId,
				action: "newsletter.subscribe",
				params: { email: "uma@example.com" }
			});
			expect(await gw.broker.call("links.load", { token: link.token })).not.toBeNull();
			expect(
				((await gw.broker.call("tokens.listByOwner", { owner: userId })) as unknown[])
					.length
			).toBeGreaterThan(0);
			const del = (json: unknown) =>
				request(api("/api/me"), {
					method: "DELETE",
					headers: bearer(session.accessToken),
					json
				});
			expect(await del({})).toMatchObject({
				status: 422,
				body: {
					type: "PASSWORD_REQUIRED",
					data: [expect.objectContaining({ field: "password" })]
				}
			});
			expect(await del({ password: "not the password" })).toMatchObject({
				status: 403,
				body: { type: "INVALID_CREDENTIALS" }
			});
			expect(
				(await request(api("/api/me"), { headers: { "x-api-key": apiKey } })).status
			).toBe(200);
			expect(await del({ password })).toMatchObject({ status: 200, body: { ok: true } });

			for (const credential of [
				bearer(session.accessToken),
				bearer(other.accessToken),
				{ "x-api-key": apiKey }
			]) {
				expect((await request(api("/api/me"), { headers: credential })).status).toBe(401);
			}
			expect(
				(await postJson(api("/api/auth/refresh"), { refreshToken: other.refreshToken }))
					.status
			).toBe(401);
			const signInAgain = await postJson(api("/api/auth/sign-in"), {
				login: "uma",
				password
			});
			expect(signInAgain.status).toBe(401);
			// Nothing of theirs is left in `tokens` or `links`, and the name and address are free.
			expect(await gw.broker.call("tokens.listByOwner", { owner: userId })).toEqual([]);
			await eventually(
				async () => (await gw.broker.call("links.load", { token: link.token })) === null
			);
			await expect(
				gw.broker.call("auth.signUp", {
					username: "uma",
					email: "uma@example.com",
					password
				})
			).resolves.toMatchObject({ user: { username: "uma" } });
		});

		it("is refused to an API key", async () => {
			const sam = await signIn("sam", "sam");
			const apiKey = await newApiKey(sam, "ci2");
			const res = await request(api("/api/me"), {
				method: "DELETE",
				headers: { "x-api-key": apiKey },
				json: { password }
			});
			expect(res).toMatchObject({ status: 403, body: { type: "SESSION_REQUIRED" } });
		});
	});
});
