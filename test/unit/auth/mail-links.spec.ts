import { describeLifetime, linkMail } from "../../../lib/auth/mail-links";

describe("link mails", () => {
	it("say what the link does, where it goes, and how long it lives", () => {
		const mail = linkMail(
			"passwordReset",
			"ada",
			"https://app.example/reset-password?token=mtp_x",
			3600
		);
		expect(mail.subject).toBe("Reset your password");
		expect(mail.text).toContain("Hello ada,");
		expect(mail.text).toContain(
			"Choose a new password: https://app.example/reset-password?token=mtp_x"
		);
		expect(mail.text).toContain("expires in 1 hour");
		expect(mail.html).toContain('<a href="https://app.example/reset-password?token=mtp_x">');
	});

	it("escape every value in the HTML body", () => {
		const mail = linkMail(
			"verification",
			`<script>"x"&'y'</script>`,
			"https://a.example/?a=1&b=2",
			86400
		);
		expect(mail.html).not.toContain("<script>");
		expect(mail.html).toContain("&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;");
		expect(mail.html).toContain('href="https://a.example/?a=1&amp;b=2"');
	});

	it.each([
		[86400, "24 hours"],
		[7 * 86400, "7 days"],
		[3600, "1 hour"],
		[7200, "2 hours"],
		[900, "15 minutes"],
		[45, "45 seconds"]
	])("describes %i seconds as %s", (seconds, text) => {
		expect(describeLifetime(seconds)).toBe(text);
	});
});
