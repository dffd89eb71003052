/**
 * The pages an end user meets: a magic link signs the browser in with the cookie session and sends
 * it on to the application (APP_URL, or an allow-listed `next`), never showing a token; an action
 * link's pages show the label its action registered, never the action's internal name.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { CreatedLink } from "../../../services/links.service";
import { authService } from "../../helpers/auth";
import {
	signUpUsers,
	linksAllowing,
	type MailingGateway,
	startMailingGateway
} from "../../helpers/gateway";
import { request } from "../../helpers/http";
import { linkIn, tokenOf } from "../../helpers/smtp";

const APP = "https://app.example/";

describe("sign-in and action-link pages", () => {
	let gw: MailingGateway;

	beforeAll(async () => {
		gw = await startMailingGateway({
			services: [
				authService({ requireVerifiedEmail: false }),
				linksAllowing("newsletter.subscribe", "newsletter.internal"),
				() =>
					({
						name: "newsletter",
						actions: {
							subscribe: {
								linkLabel: "subscribe to the newsletter",
								handler: (ctx: Context) => ({ ok: true, list: ctx.params })
							},
							internal: { handler: () => ({ ok: true }) }
						}
					}) as ServiceSchema
			],
			settings: {
				appUrl: APP,
				redirectAllowlist: ["https://admin.example/inbox"],
				rateLimit: { window: 60, public: 1000, user: 1000, admin: 1000 }
			}
		});
		await signUpUsers(gw, ["paige"], "a long enough password");
	});

	afterAll(async () => {
		await gw?.stop();
	});

	const seen = new Set<unknown>();
	async function magicLinkToken(): Promise<string> {
		await gw.broker.call("auth.requestMagicLink", { email: "paige@example.com" });
		const mail = await gw.smtp.waitFor(
			m =>
				!seen.has(m) &&
				m.to.includes("paige@example.com") &&
				m.text.includes("/magic-link?token=")
		);
		seen.add(mail);
		return tokenOf(linkIn(mail, "/magic-link"));
	}

	const signIn = (token: string, next?: string) =>
		fetch(`${gw.url}/magic-link`, {
			method: "POST",
			redirect: "manual",
			headers: { "content-type": "application/x-www-form-urlencoded" },
			body: new URLSearchParams({ token, ...(next ? { next } : {}) }).toString()
		});

	it.each([
		[undefined, APP],
		["https://admin.example/inbox/42", "https://admin.example/inbox/42"],
		["https://admin.example/inboxes", APP],
		["https://evil.example/", APP],
		["javascript:alert(1)", APP]
	])(
		"with next=%s, sends the browser on to %s, signed in with cookies",
		async (next, location) => {
			const token = await magicLinkToken();
			const res = await signIn(token, next);
			expect(res.status).toBe(303);
			expect(res.headers.get("location")).toBe(location);
			const cookies = res.headers.getSetCookie().join("; ");
			expect(cookies).toMatch(/mtk_access=[^;]+/);
			expect(cookies).toMatch(/mtk_refresh=[^;]+/);
			expect(await res.text()).toBe("");
		}
	);

	it("shows the label an action registered on its link's pages, never its internal name", async () => {
		const labelled = await gw.broker.call<CreatedLink, object>("links.create", {
			owner: "paige",
			action: "newsletter.subscribe",
			params: { list: "news" }
		});
		const confirm = await request(`${gw.url}/token/${labelled.token}`);
		expect(confirm.text).toContain("subscribe to the newsletter");
		expect(confirm.text).not.toContain("newsletter.subscribe");
		const done = await request(`${gw.url}/token/${labelled.token}`, { method: "POST" });
		expect(done.text).toContain("subscribe to the newsletter");
		expect(done.text).not.toContain("newsletter.subscribe");

		const bare = await gw.broker.call<CreatedLink, object>("links.create", {
			owner: "paige",
			action: "newsletter.internal"
		});
		const page = await request(`${gw.url}/token/${bare.token}`);
		expect(page.status).toBe(200);
		expect(page.text).not.toContain("newsletter.internal");
	});
});
