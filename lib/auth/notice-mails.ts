/**
 * Mails that tell an account's owner a security setting changed, so a change they did not make
 * does not go unnoticed. They hold no link and no code: nothing in them acts when a scanner
 * fetches it.
 */
import { escapeHtml } from "../common/html";

export type NoticeKind = "secondFactorAdded" | "secondFactorRemovedByReset";

const NOTICES: Record<NoticeKind, { subject: string; lead: string }> = {
	secondFactorAdded: {
		subject: "A second factor was added to your account",
		lead: "An authenticator app (TOTP) now guards your account, and every other session was signed out. If this was not you, reset your password from the sign-in page: a reset soon after removes a factor added this way."
	},
	secondFactorRemovedByReset: {
		subject: "Your password was reset and a new second factor removed",
		lead: "Your password was reset from a link mailed to this address. A second factor added shortly before was removed with it: add one again once you are signed in."
	}
};

export function noticeMail(
	kind: NoticeKind,
	username: string
): { subject: string; text: string; html: string } {
	const { subject, lead } = NOTICES[kind];
	return {
		subject,
		text: [`Hello ${username},`, "", lead].join("\n"),
		html: [`<p>Hello ${escapeHtml(username)},</p>`, `<p>${escapeHtml(lead)}</p>`].join("\n")
	};
}
