/**
 * The mails that carry a link (verification, magic link, password reset): which token type each
 * link spends, where it points and what the mail says. Text and HTML alike; every value escaped.
 */
import { TOKEN_TYPES } from "../tokens/token-types";
import { escapeHtml } from "../common/html";

const DAY = 86400;

export type LinkKind = "verification" | "magicLink" | "passwordReset" | "invitation";

export interface LinkSpec {
	tokenType: string;
	path: string;
	subject: string;
	lead: string;
	action: string;
	/** Seconds the link lives, when not the token type's default (an invitation: a week). */
	expiry?: number;
}

export const LINKS: Record<LinkKind, LinkSpec> = {
	verification: {
		tokenType: TOKEN_TYPES.verification,
		path: "/verify-email",
		subject: "Confirm your e-mail address",
		lead: "Please confirm your e-mail address for your new account.",
		action: "Confirm my address"
	},
	magicLink: {
		tokenType: TOKEN_TYPES.magicLink,
		path: "/magic-link",
		subject: "Your sign-in link",
		lead: "Use this link to sign in. It works once.",
		action: "Sign in"
	},
	passwordReset: {
		tokenType: TOKEN_TYPES.passwordReset,
		path: "/reset-password",
		subject: "Reset your password",
		lead: "Someone (hopefully you) asked to reset your password. If it was not you, ignore this mail.",
		action: "Choose a new password"
	},
	// An administrator created the account: choosing a password also confirms the address.
	invitation: {
		tokenType: TOKEN_TYPES.passwordReset,
		path: "/reset-password",
		subject: "You are invited",
		lead: "An administrator created an account for you. Choose a password to start using it.",
		action: "Choose my password",
		expiry: 7 * DAY
	}
};

export function describeLifetime(seconds: number): string {
	if (seconds % DAY === 0) return seconds === DAY ? "24 hours" : `${seconds / DAY} days`;
	if (seconds % 3600 === 0) return seconds === 3600 ? "1 hour" : `${seconds / 3600} hours`;
	if (seconds % 60 === 0) return `${seconds / 60} minutes`;
	return `${seconds} seconds`;
}

/** A code beside the link, for a reader on another device than their mail (verification). */
export interface MailedCode {
	code: string;
	lifetimeSeconds: number;
}

/** The subject and bodies of a link mail to `username`. */
export function linkMail(
	kind: LinkKind,
	username: string,
	link: string,
	lifetimeSeconds: number,
	code?: MailedCode
): { subject: string; text: string; html: string } {
	const spec = LINKS[kind];
	const lifetime = describeLifetime(lifetimeSeconds);
	const codeLine =
		code &&
		`Or type this code where you signed up: ${code.code} (it expires in ${describeLifetime(code.lifetimeSeconds)}).`;
	const text = [
		`Hello ${username},`,
		"",
		spec.lead,
		"",
		`${spec.action}: ${link}`,
		"",
		`The link works once and expires in ${lifetime}.`,
		...(codeLine ? ["", codeLine] : [])
	].join("\n");
	const html = [
		`<p>Hello ${escapeHtml(username)},</p>`,
		`<p>${escapeHtml(spec.lead)}</p>`,
		`<p><a href="${escapeHtml(link)}">${escapeHtml(spec.action)}</a></p>`,
		`<p>The link works once and expires in ${lifetime}.</p>`,
		...(codeLine ? [`<p>${escapeHtml(codeLine)}</p>`] : [])
	].join("\n");
	return { subject: spec.subject, text, html };
}
