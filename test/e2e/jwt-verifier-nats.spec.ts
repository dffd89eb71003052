/**
 * A sibling service verifying access tokens itself: `tokens` and `auth` on one node, a "resource"
 * service with mixins/jwt-verifier on another, a caller on a third, over the real NATS server. The
 * resource fetches the JWKS once, verifies every request without calling auth, fetches again when
 * a rotation brings a key it does not hold, and refuses bad tokens.
 */
import type { Context, ServiceBroker } from "moleculer";
import TokensService from "../../services/tokens/tokens.service";
import AuthService, { type SignInResult } from "../../services/auth/auth.service";
import JwtVerifierMixin, { type VerifiedCaller } from "../../mixins/jwt-verifier.mixin";
import { createTestBroker, removeDir, tempDataDir, withSettings } from "../helpers/broker";
import { describeWithNats, natsTransporter, uniqueNamespace } from "../helpers/nats";
import { FAST_SCRYPT, PUBLIC_URL } from "../helpers/auth";
import { expectRefused } from "../helpers/async";

describeWithNats("a resource service verifying JWTs locally, over NATS", () => {
	const dataDir = tempDataDir();
	let nodes: ServiceBroker[];
	let caller: ServiceBroker;
	/** Calls that reached auth, by action name. */
	const authCalls: string[] = [];

	beforeAll(async () => {
		const namespace = uniqueNamespace("jwt-verifier");
		const node = (nodeID: string, extra: object = {}) =>
			createTestBroker({ namespace, nodeID, transporter: natsTransporter(), ...extra });
		const authNode = node("auth-node", {
			middlewares: [
				{
					localAction(next: (ctx: Context) => unknown, action: { name: string }) {
						return (ctx: Context) => {
							if (action.name.startsWith("auth.")) authCalls.push(action.name);
							return next(ctx);
						};
					}
				}
			]
		});
		authNode.createService(withSettings(TokensService, { dataDir }));
		authNode.createService(
			withSettings(AuthService, {
				dataDir,
				password: FAST_SCRYPT,
				publicUrl: PUBLIC_URL,
				requireVerifiedEmail: false
			})
		);
		const resourceNode = node("resource-node");
		resourceNode.createService({
			name: "resource",
			mixins: [JwtVerifierMixin],
			actions: {
				whoami: {
					auth: "required",
					handler(ctx: Context<unknown, { user: VerifiedCaller }>) {
						return ctx.meta.user;
					}
				}
			}
		} as never);
		caller = node("caller-node");
		nodes = [authNode, resourceNode, caller];
		await Promise.all(nodes.map(n => n.start()));
		await caller.waitForServices(["auth", "resource", "tokens"], 10_000);
		await resourceNode.waitForServices(["auth"], 10_000);
		await caller.call("auth.signUp", {
			username: "remy",
			email: "remy@example.com",
			password: "a long enough password"
		});
	});
	afterAll(async () => {
		await Promise.all((nodes ?? []).map(n => n.stop()));
		removeDir(dataDir);
	});

	const signIn = () =>
		caller.call<SignInResult, object>("auth.signIn", {
			login: "remy",
			password: "a long enough password"
		});
	const whoami = (token: string) =>
		caller.call<VerifiedCaller, object>(
			"resource.whoami",
			{},
			{
				meta: { authorization: `Bearer ${token}` }
			}
		);

	it("verifies 50 requests with one JWKS fetch and no call to auth per request", async () => {
		const session = await signIn();
		authCalls.length = 0;
		for (let i = 0; i < 50; i++) {
			expect(await whoami(session.accessToken)).toMatchObject({
				id: session.user.id,
				via: "jwt",
				session: expect.any(String)
			});
		}
		expect(authCalls).toEqual(["auth.jwks"]);
	});

	it("fetches the JWKS again for a key a rotation brought, and refuses bad tokens", async () => {
		await caller.call("auth.rotateSigningKey", { publishDelay: 0 });
		const session = await signIn();
		// The refetch is rate limited (5 s by default); wait it out as a real rotation would.
		await new Promise(r => setTimeout(r, 5100));
		authCalls.length = 0;
		expect(await whoami(session.accessToken)).toMatchObject({ id: session.user.id });
		expect(authCalls).toEqual(["auth.jwks"]);
		const tampered = session.accessToken.slice(0, -3) + "AAA";
		for (const bad of [tampered, "not-a-jwt"]) {
			await expectRefused(whoami(bad), 401);
		}
		await expectRefused(caller.call("resource.whoami", {}), 401);
	}, 20_000);
});
