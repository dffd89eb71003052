/**
 * The small HTML pages behind the links in our mails (verify e-mail, magic sign-in link, password
 * reset, one-time action links), rendered on the server.
 *
 * Opening a link (GET) never spends its token: mail scanners and link previews fetch links too. The
 * page explains what will happen and offers a button, a form POST carrying the token in a hidden
 * field; only that POST spends it. Every value is HTML-escaped; the only style is one inline block
 * allowed by its hash in a CSP that allows nothing else (no scripts, frames, images or foreign forms).
 */
import { escapeHtml } from "../common/html";
import { createHash } from "node:crypto";

const STYLE =
	"body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;" +
	"line-height:1.5;color:#1b1b1b}h1{font-size:1.4rem}" +
	"label{display:block;margin:.8rem 0 .2rem}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}" +
	"button{font:inherit;margin-top:1rem;padding:.5rem 1.2rem;cursor:pointer}" +
	".error{color:#a00}code{display:block;word-break:break-all;background:#f3f3f3;padding:.5rem}";

export const CONTENT_SECURITY_POLICY = [
	"default-src 'none'",
	`style-src 'sha256-${createHash("sha256").update(STYLE).digest("base64")}'`,
	"form-action 'self'",
	"frame-ancestors 'none'",
	"base-uri 'none'"
].join("; ");

/** Headers for every page: not cached, no Referer (the URL holds a token), nothing but our style. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
	"Content-Type": "text/html; charset=utf-8",
	"Cache-Control": "no-store",
	"Referrer-Policy": "no-referrer",
	"Content-Security-Policy": CONTENT_SECURITY_POLICY,
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options": "DENY"
};

export { escapeHtml };

export interface PageField {
	name: string;
	label: string;
	type: "password" | "text";
	autocomplete?: string;
	/** Whether the form needs it; default true. */
	required?: boolean;
}

export interface PageForm {
	/** Where the form posts: a path on this gateway. */
	action: string;
	hidden: Record<string, string>;
	fields?: PageField[];
	submit: string;
}

export interface Page {
	status: number;
	title: string;
	paragraphs: string[];
	errors?: string[];
	form?: PageForm;
	/** Values shown once for the reader to copy. */
	values?: { label: string; value: string }[];
	/** Where the browser goes next (303 See Other) instead of showing the page. */
	redirect?: string;
	/** Set-Cookie values sent with the page (a cookie session). */
	cookies?: string[];
}

export function renderPage(page: Page): string {
	const parts: string[] = [
		"<!doctype html>",
		'<html lang="en"><head><meta charset="utf-8">',
		'<meta name="viewport" content="width=device-width, initial-scale=1">',
		'<meta name="referrer" content="no-referrer">',
		'<meta name="robots" content="noindex">',
		`<title>${escapeHtml(page.title)}</title>`,
		`<style>${STYLE}</style>`,
		"</head><body><main>",
		`<h1>${escapeHtml(page.title)}</h1>`
	];
	for (const p of page.paragraphs) parts.push(`<p>${escapeHtml(p)}</p>`);
	for (const e of page.errors ?? []) parts.push(`<p class="error">${escapeHtml(e)}</p>`);
	for (const v of page.values ?? []) {
		parts.push(`<p>${escapeHtml(v.label)}</p><code>${escapeHtml(v.value)}</code>`);
	}
	if (page.form) {
		const f = page.form;
		parts.push(`<form method="post" action="${escapeHtml(f.action)}">`);
		for (const [name, value] of Object.entries(f.hidden)) {
			parts.push(
				`<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`
			);
		}
		for (const field of f.fields ?? []) {
			const id = `f-${escapeHtml(field.name)}`;
			parts.push(
				`<label for="${id}">${escapeHtml(field.label)}</label>` +
					`<input id="${id}" type="${field.type}" name="${escapeHtml(field.name)}"` +
					(field.autocomplete
						? ` autocomplete="${escapeHtml(field.autocomplete)}"`
						: "") +
					(field.required === false ? ">" : " required>")
			);
		}
		parts.push(`<button type="submit">${escapeHtml(f.submit)}</button></form>`);
	}
	parts.push("</main></body></html>");
	return parts.join("\n");
}

/** A session from a sign-in, as auth returns it. */
export interface SessionTokens {
	accessToken: string;
	refreshToken: string;
	expiresIn: number;
}

/** A form's hidden fields, with where to go after a sign-in when one was asked for. */
function withNext(hidden: Record<string, string>, next: string | null): Record<string, string> {
	return next ? { ...hidden, next } : hidden;
}

/** Every page the gateway serves for mail links, as data (rendered by `renderPage`). */
export const pages = {
	verifyEmailConfirm(token: string, errors: string[] = [], status = 200): Page {
		return {
			status,
			title: "Confirm your e-mail address",
			paragraphs: [
				"Enter the password you chose when you signed up, and confirm: your address is " +
					"confirmed and you sign in with that password from now on.",
				"Did you not sign up yourself, or not choose a password? Confirm with the field " +
					"empty: the address is yours, any password set before is cleared, and you can " +
					"choose one with “Forgot password”."
			],
			errors,
			form: {
				action: "/verify-email",
				hidden: { token },
				fields: [
					{
						name: "password",
						label: "Your password",
						type: "password",
						autocomplete: "current-password",
						required: false
					}
				],
				submit: "Confirm e-mail address"
			}
		};
	},

	verifyEmailDone(passwordKept = true): Page {
		return {
			status: 200,
			title: "E-mail address confirmed",
			paragraphs: passwordKept
				? ["Thank you: your e-mail address is confirmed. You can close this page."]
				: [
						"Thank you: your e-mail address is confirmed.",
						"No password is set for this account: sign in with a link by e-mail, " +
							"or choose a password with “Forgot password”."
					]
		};
	},

	magicLinkConfirm(token: string, next: string | null = null): Page {
		return {
			status: 200,
			title: "Sign in",
			paragraphs: ["Press the button to sign in with this link. It works only once."],
			form: { action: "/magic-link", hidden: withNext({ token }, next), submit: "Sign in" }
		};
	},

	/** The second step after a magic link, for an account with TOTP on. */
	magicLinkTotp(
		challenge: string,
		next: string | null = null,
		errors: string[] = [],
		status = 200
	): Page {
		return {
			status,
			title: "Enter your code",
			paragraphs: [
				"Your account asks for a second step: type the code your authenticator app shows, " +
					"or one of your recovery codes."
			],
			errors,
			form: {
				action: "/magic-link/totp",
				hidden: withNext({ token: challenge }, next),
				fields: [
					{ name: "code", label: "Code", type: "text", autocomplete: "one-time-code" }
				],
				submit: "Sign in"
			}
		};
	},

	/**
	 * After a sign-in on a page: the browser holds the session in its cookies (never shown), and
	 * goes on to the application when one is configured.
	 */
	signedIn(cookies: string[], next: string | null): Page {
		return next
			? { status: 303, title: "Signed in", paragraphs: [], redirect: next, cookies }
			: {
					status: 200,
					title: "You are signed in",
					paragraphs: ["You are signed in on this browser. You can close this page."],
					cookies
				};
	},

	resetPasswordForm(token: string, errors: string[] = [], status = 200): Page {
		return {
			status,
			title: "Choose a new password",
			paragraphs: ["Enter your new password twice (at least 10 characters)."],
			errors,
			form: {
				action: "/reset-password",
				hidden: { token },
				fields: [
					{
						name: "password",
						label: "New password",
						type: "password",
						autocomplete: "new-password"
					},
					{
						name: "confirmPassword",
						label: "New password again",
						type: "password",
						autocomplete: "new-password"
					}
				],
				submit: "Change password"
			}
		};
	},

	resetPasswordDone(): Page {
		return {
			status: 200,
			title: "Password changed",
			paragraphs: ["Your password has been changed. Sign in with your new password."]
		};
	},

	/** `label`: what the action registered for its links (`linkLabel`), never its internal name. */
	actionConfirm(token: string, label: string | null): Page {
		return {
			status: 200,
			title: "Confirm",
			paragraphs: [
				label
					? `This link asks you to confirm: ${label}.`
					: "This link asks you to confirm a request.",
				"Press the button to continue. The link works once."
			],
			form: { action: "/token", hidden: { token }, submit: "Confirm" }
		};
	},

	actionDone(label: string | null): Page {
		return {
			status: 200,
			title: "Done",
			paragraphs: [
				label
					? `Done: ${label}. You can close this page.`
					: "Done. You can close this page."
			]
		};
	},

	invalidLink(status = 400): Page {
		return {
			status,
			title: "This link is not valid",
			paragraphs: [
				"The link is invalid, has expired or has already been used. " +
					"Request a new one if you still need it."
			]
		};
	},

	/** The request was understood but refused (e.g. the link's action is no longer allowed). */
	notCompleted(status: number): Page {
		return {
			status,
			title: "This could not be completed",
			paragraphs: ["The request could not be completed. Contact us if this keeps happening."]
		};
	},

	locked(): Page {
		return {
			status: 423,
			title: "Please wait",
			paragraphs: ["This link was used a moment ago. Try again in a little while."]
		};
	},

	tooManyRequests(): Page {
		return {
			status: 429,
			title: "Too many requests",
			paragraphs: ["Too many requests from your network. Try again in a minute."]
		};
	},

	unavailable(): Page {
		return {
			status: 503,
			title: "Temporarily unavailable",
			paragraphs: ["The service is temporarily unavailable. Try again shortly."]
		};
	},

	failed(): Page {
		return {
			status: 500,
			title: "Something went wrong",
			paragraphs: ["Something went wrong on our side. Try again later."]
		};
	}
};
