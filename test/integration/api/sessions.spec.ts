/**
 * Sessions a user can see and end, over REST through the gateway: GET /api/me/sessions and
 * DELETE /api/me/sessions/:id, with the User-Agent and network recorded at sign-in and refresh,
 * the caller's own session marked, ending one killing its refresh and access tokens, nobody
 * reaching another user's sessions, and AUTH_MAX_SESSIONS ending the oldest.
 */
import { authService } from "../../helpers/auth";
import { request, startGateway, type TestGateway } from "../../helpers/gateway";

interface Session {
	accessToken: string;
	refreshToken: string;
}

interface SessionInfo {
	id: string;
	createdAt: string;
	lastUsedAt: string;
	userAgent: string | null;
	clientAddress: string | null;
	current: boolean;
}

describe("sessions over REST", () => {
	let gw: TestGateway;
	const password = "a long enough password";
	const api = (path: string) => `${gw.url}${path}`;
	const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

	beforeAll(async () => {
		gw = await startGateway({
			services: [authService({ requireVerifiedEmail: false, maxSessions: 3 })]
		});
		for (const username of ["sam", "tess"]) {
			await gw.broker.call("auth.signUp", {
				username,
				email: `${username}@example.com`,
				password
			});
		}
	});
	afterAll(() => gw.stop());

	const signIn = async (login: string, agent: string): Promise<Session> => {
		const res = await request(api("/api/auth/sign-in"), {
			method: "POST",
			headers: { "user-agent": agent },
			json: { login, password }
		});
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
		const res = await request(api("/api/auth/refresh"), {
			method: "POST",
			headers: { "user-agent": "Firefox/141 laptop" },
			json: { refreshToken: laptop.refreshToken }
		});
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
			(
				await request(api("/api/auth/refresh"), {
					method: "POST",
					json: { refreshToken: lost.refreshToken }
				})
			).status
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
		const key = await request(api("/api/me/api-keys"), {
			method: "POST",
			headers: bearer(sam.accessToken),
			json: { name: "ci" }
		});
		const apiKey = (key.body as { token: string }).token;
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
});
