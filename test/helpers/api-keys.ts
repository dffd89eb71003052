/**
 * The API-key suites' set-up: a gateway with auth (no verified address needed), one user signed up
 * and in over REST, and that user's key routes over REST and auth.verifyKey. Call it in a
 * `describe`: it adds the `beforeAll` and `afterAll` that start and stop the gateway.
 */
import { authService } from "./auth";
import { signUpUsers, startGateway, type TestGateway } from "./gateway";
import { postJson, request } from "./http";

export function apiKeyGateway(username: string, password: string, requestLimit: number) {
	let gw: TestGateway;
	let bearer: { authorization: string };
	beforeAll(async () => {
		gw = await startGateway({
			services: [authService({ requireVerifiedEmail: false })],
			settings: {
				rateLimit: {
					window: 60,
					public: requestLimit,
					user: requestLimit,
					admin: requestLimit
				}
			}
		});
		await signUpUsers(gw, [username], password);
		const signedIn = await postJson(`${gw.url}/api/auth/sign-in`, {
			login: username,
			password
		});
		bearer = {
			authorization: `Bearer ${(signedIn.body as { accessToken: string }).accessToken}`
		};
	});
	afterAll(() => gw.stop());
	const url = (path: string) => `${gw.url}${path}`;
	return {
		get gw() {
			return gw;
		},
		/** The `Authorization` header of the user's session. */
		get bearer() {
			return bearer;
		},
		url,
		verify: <T>(key: string) => gw.broker.call<T, object>("auth.verifyKey", { key }),
		me: (key: string) => request(url("/api/me"), { headers: { "x-api-key": key } }),
		post: (json: object) =>
			request(url("/api/me/api-keys"), { method: "POST", headers: bearer, json }),
		put: (id: string, json: object) =>
			request(url(`/api/me/api-keys/${id}`), { method: "PUT", headers: bearer, json })
	};
}
