import { createHash } from "node:crypto";
import fc from "fast-check";
import {
	CONTENT_SECURITY_POLICY,
	PAGE_HEADERS,
	escapeHtml,
	pages,
	renderPage
} from "../../../lib/http/page-rendering";

/** Text of the page outside our own markup: every `<` must start one of our tags. */
function foreignTags(html: string): string[] {
	const ours =
		/^<(\/?(html|head|body|main|h1|p|form|label|button|code|title|style|meta|input)\b|!doctype)/;
	return (html.match(/<[^>]*>?/g) ?? []).filter(tag => !ours.test(tag));
}

describe("escapeHtml", () => {
	it("escapes the characters that matter in elements and quoted attributes", () => {
		expect(escapeHtml(`<script>alert("x")</script> & 'y' \``)).toBe(
			"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;"
		);
		expect(escapeHtml(undefined)).toBe("");
		expect(escapeHtml(42)).toBe("42");
	});

	it("leaves no markup character behind (property)", () => {
		fc.assert(
			fc.property(fc.string({ unit: "binary" }), s => {
				expect(escapeHtml(s)).not.toMatch(/[<>"'`]/);
			})
		);
	});
});

describe("renderPage", () => {
	it("puts a hostile token and action name on the page only as text", () => {
		const token = `"><script>alert(1)</script><input value="`;
		const action = `</p><img src=x onerror=alert(1)>`;
		for (const page of [
			pages.verifyEmailConfirm(token),
			pages.magicLinkConfirm(token),
			pages.resetPasswordForm(token, [action]),
			pages.actionConfirm(token, action),
			pages.actionDone(action)
		]) {
			const html = renderPage(page);
			expect(foreignTags(html)).toEqual([]);
			expect(html).not.toContain("<script");
			expect(html).not.toContain("<img");
		}
	});

	it("carries the token in a hidden field of a POST form, never in the form's URL", () => {
		const token = "mtv_0123456789abcdefghijABCDEFGHIJ123456";
		const html = renderPage(pages.verifyEmailConfirm(token));
		expect(html).toContain('<form method="post" action="/verify-email">');
		expect(html).toContain(`<input type="hidden" name="token" value="${token}">`);
		expect(html.match(new RegExp(token, "g"))).toHaveLength(1);
	});

	it("asks for the new password twice on the reset form", () => {
		const html = renderPage(pages.resetPasswordForm("t"));
		expect(html).toContain('name="password"');
		expect(html).toContain('name="confirmPassword"');
		expect(html).toContain('autocomplete="new-password"');
	});

	it("escapes every page built from arbitrary input (property)", () => {
		fc.assert(
			fc.property(fc.string(), fc.string(), (token, action) => {
				const html = renderPage(pages.actionConfirm(token, action));
				expect(foreignTags(html)).toEqual([]);
			})
		);
	});

	it("allows exactly its own inline style in the CSP, and nothing else", () => {
		const html = renderPage(pages.invalidLink());
		const style = /<style>([^<]*)<\/style>/.exec(html)![1];
		const hash = createHash("sha256").update(style).digest("base64");
		expect(CONTENT_SECURITY_POLICY).toContain(`style-src 'sha256-${hash}'`);
		expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
		expect(CONTENT_SECURITY_POLICY).toContain("form-action 'self'");
		expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|script-src/);
	});

	it("sends pages uncached, without a Referer, as HTML", () => {
		expect(PAGE_HEADERS).toMatchObject({
			"Cache-Control": "no-store",
			"Referrer-Policy": "no-referrer",
			"Content-Type": "text/html; charset=utf-8"
		});
	});

	it("gives error pages their status", () => {
		expect(pages.invalidLink().status).toBe(400);
		expect(pages.invalidLink(404).status).toBe(404);
		expect(pages.locked().status).toBe(423);
		expect(pages.tooManyRequests().status).toBe(429);
		expect(pages.unavailable().status).toBe(503);
		expect(pages.resetPasswordForm("t", ["x"], 422).status).toBe(422);
	});
});
