import nodemailer from "nodemailer";
import * as outbox from "../../../lib/mail/outbox";

/** A message as the mail service writes it to the outbox: nodemailer's own encoding. */
async function composed(mail: { to: string; subject: string; text: string; html?: string }) {
	const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
	const info = await transport.sendMail({ from: "noreply@example.com", ...mail });
	return (info.message as Buffer).toString("utf8");
}

describe("the development outbox", () => {
	it("decodes a long link a quoted-printable soft line break splits, and the code", async () => {
		const token = `mtr_${"A1b2C3d4".repeat(5)}`;
		const link = `http://localhost:3000/reset-password?token=${token}`;
		const raw = await composed({
			to: "ada@example.com",
			subject: "Réinitialiser — reset your password",
			text: `Hello ada,\n\n${"é ".repeat(30)}${link}\n\nYour code: 123456\n`,
			html: `<p><a href="${link}">reset</a></p>`
		});
		expect(raw.includes(token)).toBe(false); // split or encoded in the file
		const mail = outbox.readMail("x.eml", raw);
		expect(mail).toMatchObject({
			to: "ada@example.com",
			subject: "Réinitialiser — reset your password",
			links: [link],
			codes: ["123456"]
		});
		expect(mail.text).toContain("Hello ada");
	});

	it("finds the code beside a verification link", async () => {
		const raw = await composed({
			to: "c@example.com",
			subject: "Confirm",
			text: "Or type this code where you signed up: 654321 (it expires in 5 minutes)."
		});
		expect(outbox.readMail("z.eml", raw).codes).toEqual(["654321"]);
	});

	it("reads a plain 7-bit message too", async () => {
		const raw = await composed({
			to: "b@example.com",
			subject: "Hi",
			text: "See https://x.test/a"
		});
		expect(outbox.readMail("y.eml", raw)).toMatchObject({
			links: ["https://x.test/a"],
			codes: []
		});
	});

	it("decodes quoted-printable bytes and soft line breaks", () => {
		expect(outbox.decodeQuotedPrintable("caf=C3=A9 =\r\nau lait=3D")).toBe("café au lait=");
	});
});
