/**
 * The mails that carry a code (sign-in by code, a new device's verification). They name the code
 * and how long it lives, and hold no link: nothing in them signs in when a scanner fetches it.
 */
import { escapeHtml } from "../common/html";
import { describeLifetime } from "./mail-links";

export type CodeKind = "signIn" | "newDevice";

const CODE_MAILS: Record<CodeKind, { subject: string; lead: string }> = {
	signIn: {
		subject: "Your sign-in code",
		lead: "Use this code to sign in."
	},
	newDevice: {
		subject: "Confirm a sign-in from a new device",
		lead: "Someone signed in to your account with your password from a device we have not seen before. If it was you, type this code on that device. If not, change your password."
	}
};

/** The subject (never the code: subjects show in notifications and logs) and bodies. */
export function codeMail(
	kind: CodeKind,
	username: string,
	code: string,
	lifetimeSeconds: number
): { subject: string; text: string; html: string } {
	const { subject, lead } = CODE_MAILS[kind];
	const lifetime = describeLifetime(lifetimeSeconds);
	const text = [
		`Hello ${username},`,
		"",
		lead,
		"",
		`Your code: ${code}`,
		"",
		`It works once and expires in ${lifetime}. We will never ask you for it by phone or mail.`
	].join("\n");
	const html = [
		`<p>Hello ${escapeHtml(username)},</p>`,
		`<p>${escapeHtml(lead)}</p>`,
		`<p style="font-size:1.5em;letter-spacing:0.2em"><strong>${escapeHtml(code)}</strong></p>`,
		`<p>It works once and expires in ${lifetime}. We will never ask you for it by phone or mail.</p>`
	].join("\n");
	return { subject, text, html };
}
