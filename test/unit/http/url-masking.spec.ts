import fc from "fast-check";
import { createToken } from "../../../lib/tokens/format";
import { MASK, maskUrl } from "../../../lib/http/url-masking";

describe("maskUrl", () => {
	const token = createToken("mtv");

	it("masks the token of every mail link", () => {
		expect(maskUrl(`/verify-email?token=${token}`)).toBe(`/verify-email?token=${MASK}`);
		expect(maskUrl(`/magic-link?token=${token}&x=1`)).toBe(`/magic-link?token=${MASK}&x=1`);
		expect(maskUrl(`/reset-password?lang=en&token=${token}`)).toBe(
			`/reset-password?lang=en&token=${MASK}`
		);
		expect(maskUrl(`/token/${token}`)).toBe(`/token/${MASK}`);
		expect(maskUrl(`/token/${token}/extra?y=2`)).toBe(`/token/${MASK}?y=2`);
		expect(maskUrl("/Token/not-even-token-shaped")).toBe(`/Token/${MASK}`);
	});

	it("masks secret query keys whatever their value or spelling", () => {
		expect(maskUrl("/x?Token=abc")).toBe(`/x?Token=${MASK}`);
		expect(maskUrl("/x?api_key=abc&refresh-token=def")).toBe(
			`/x?api_key=${MASK}&refresh-token=${MASK}`
		);
		expect(maskUrl("/x?token[]=a&token[]=b")).toBe(`/x?token[]=${MASK}&token[]=${MASK}`);
		expect(maskUrl("/x?%74oken=abc")).toBe(`/x?%74oken=${MASK}`);
	});

	it("masks token- and JWT-shaped values under any key or in any path segment", () => {
		const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";
		expect(maskUrl(`/x?owner=u&t=${token}`)).toBe(`/x?owner=u&t=${MASK}`);
		expect(maskUrl(`/x?${token}`)).toBe(`/x?${MASK}`);
		expect(maskUrl(`/api/things/${jwt}`)).toBe(`/api/things/${MASK}`);
		expect(maskUrl(`/x?auth=${encodeURIComponent(jwt)}`)).toBe(`/x?auth=${MASK}`);
	});

	it("masks a query pair whose key holds a token", () => {
		const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";
		expect(maskUrl(`/x?owner[${jwt}]=v&a=1`)).toBe(`/x?${MASK}=${MASK}&a=1`);
		expect(maskUrl(`/x?owner%5B${token}%5D=mtk_x`)).toBe(`/x?${MASK}=${MASK}`);
		expect(maskUrl(`/x?list[${token}]`)).toBe(`/x?${MASK}`);
		expect(maskUrl("/x?owner[a_b]=1")).toBe("/x?owner[a_b]=1");
	});

	it("leaves ordinary URLs alone", () => {
		for (const url of [
			"/api/tokens?owner=user123&type=api-key",
			"/api/me/api-keys/3f1c2e4a-0000-4000-8000-000000000000",
			"/health",
			"/"
		]) {
			expect(maskUrl(url)).toBe(url);
		}
	});

	it("drops a fragment", () => {
		expect(maskUrl(`/magic-link#token=${token}`)).toBe("/magic-link");
	});

	it("never lets a generated token through, however the URL is built (property)", () => {
		const prefixes = ["mtv", "mtp", "mtr", "mtk", "mtf", "mta"];
		fc.assert(
			fc.property(
				fc.constantFrom(...prefixes),
				fc.constantFrom(
					(t: string) => `/verify-email?token=${t}`,
					(t: string) => `/token/${t}`,
					(t: string) => `/anything?other=1&value=${t}`,
					(t: string) => `/a/${t}/b`,
					(t: string) => `/x?token=${encodeURIComponent(t)}%zz`
				),
				(prefix, build) => {
					const t = createToken(prefix);
					expect(maskUrl(build(t))).not.toContain(t);
				}
			)
		);
	});

	it("masks JWT shapes inside keys and bare pairs", () => {
		const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
		expect(maskUrl(`/x?owner[${jwt}]=1`)).toBe("/x?<masked>=<masked>");
		expect(maskUrl(`/x?a&eyJ.${jwt}`)).toBe("/x?a&<masked>");
		expect(maskUrl("/x?eyJ.only-one-dot")).toBe("/x?eyJ.only-one-dot");
	});

	it("takes linear time on URLs built to make patterns backtrack", () => {
		const hostile = [
			`/api/me?${"eyJ".repeat(5200)}`,
			`/api/me?${"eyJ".repeat(20_000)}=1`,
			`/api/me?a=${"eyJ.".repeat(5000)}`,
			`/${"a_".repeat(10_000)}?${"a_a".repeat(5000)}`
		];
		const started = process.hrtime.bigint();
		for (const url of hostile) maskUrl(url);
		expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(100);
	});
});
