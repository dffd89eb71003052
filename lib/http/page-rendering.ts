/**
 * The small HTML pages behind the links in our mails (verify e-mail, magic sign-in link, password
 * reset, one-time action links), rendered on the server.
 *
 * Opening a link (GET) never spends its token: mail scanners and link previews fetch links too. The
 * page explains what will happen and offers a button, a form POST carrying the token in a hidden
 * field; only that POST spends it. Every value is HTML-escaped; the only style is one inline block
 * allowed by its hash in a CSP that allows nothing else (no scripts, frames or foreign forms; images
 * only from the theme's logo origin). Texts come in the reader's language (lib/http/page-templates).
 */
import { escapeHtml } from "../common/html";
import { createHash } from "node:crypto";

/** What an operator may change of the pages (PAGES_DIR/theme.json, PAGES_LANGUAGE). */
export interface PageTheme {
	/** The pages' language: `lang` of the page, and which texts (page-texts/<language>.json). */
	language: string;
	/** Shown above every page's heading; null: none. */
	productName: string | null;
	/** An https:// image shown beside the product name; null: none. */
	logoUrl: string | null;
	colors: { text: string; background: string; accent: string };
}

export const DEFAULT_THEME: PageTheme = Object.freeze({
	language: "en",
	productName: null,
	logoUrl: null,
	colors: Object.freeze({ text: "#1b1b1b", background: "#ffffff", accent: "#1b5fbf" })
});

/** The pages' one inline style, with the theme's colours (checked to be colours before use). */
export function styleOf(theme: PageTheme = DEFAULT_THEME): string {
	const { text, background, accent } = theme.colors;
	return (
		"body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;" +
		`line-height:1.5;color:${text};background:${background}}h1{font-size:1.4rem}` +
		"header{display:flex;align-items:center;gap:.6rem;font-weight:600}header img{height:2rem}" +
		"label{display:block;margin:.8rem 0 .2rem}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}" +
		`button{font:inherit;margin-top:1rem;padding:.5rem 1.2rem;cursor:pointer;background:${accent};color:#fff;border:0;border-radius:.3rem}` +
		".error{color:#a00}code{display:block;word-break:break-all;background:#f3f3f3;padding:.5rem}"
	);
}

/** A CSP that allows the theme's style (by hash), its logo's origin, forms to itself, nothing else. */
export function contentSecurityPolicy(theme: PageTheme = DEFAULT_THEME): string {
	const hash = createHash("sha256").update(styleOf(theme)).digest("base64");
	return [
		"default-src 'none'",
		`style-src 'sha256-${hash}'`,
		...(theme.logoUrl ? [`img-src ${new URL(theme.logoUrl).origin}`] : []),
		"form-action 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'"
	].join("; ");
}

export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/** Headers for every page: not cached, no Referer (the URL holds a token), nothing but our style. */
export function pageHeaders(theme: PageTheme = DEFAULT_THEME): Readonly<Record<string, string>> {
	return {
		"Content-Type": "text/html; charset=utf-8",
		"Cache-Control": "no-store",
		"Referrer-Policy": "no-referrer",
		"Content-Security-Policy": contentSecurityPolicy(theme),
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options": "DENY"
	};
}

export const PAGE_HEADERS = pageHeaders();

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

export function renderPage(page: Page, theme: PageTheme = DEFAULT_THEME): string {
	const parts: string[] = [
		"<!doctype html>",
		`<html lang="${escapeHtml(theme.language)}"><head><meta charset="utf-8">`,
		'<meta name="viewport" content="width=device-width, initial-scale=1">',
		'<meta name="referrer" content="no-referrer">',
		'<meta name="robots" content="noindex">',
		`<title>${escapeHtml(page.title)}</title>`,
		`<style>${styleOf(theme)}</style>`,
		"</head><body>",
		...brandOf(theme),
		"<main>",
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

/** The header with the product's logo and name, when the theme has them. */
function brandOf(theme: PageTheme): string[] {
	if (!theme.productName && !theme.logoUrl) return [];
	const logo = theme.logoUrl ? `<img src="${escapeHtml(theme.logoUrl)}" alt="">` : "";
	const name = theme.productName ? `<span>${escapeHtml(theme.productName)}</span>` : "";
	return [`<header>${logo}${name}</header>`];
}

/** A page text in the reader's language: `msgid` is the English text, `{name}` a placeholder. */
export type Translate = (msgid: string, values?: Record<string, string>) => string;

/** Translations by English text (gettext's msgids); a text without one stays English. */
export function translator(dictionary: Record<string, string>): Translate {
	return (msgid, values) =>
		(dictionary[msgid] ?? msgid).replace(
			/\{(\w+)\}/g,
			(whole, name: string) => values?.[name] ?? whole
		);
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

/** The pages of an address confirmation link. */
function addressPages(t: Translate) {
	return {
		verifyEmailConfirm(token: string, errors: string[] = [], status = 200): Page {
			return {
				status,
				title: t("Confirm your e-mail address"),
				paragraphs: [
					t(
						"Enter the password you chose when you signed up, and confirm: your address is confirmed and you sign in with that password from now on."
					),
					t(
						"Did you not sign up yourself, or not choose a password? Confirm with the field empty: the address is yours, any password set before is cleared, and you can choose one with “Forgot password”."
					)
				],
				errors,
				form: {
					action: "/verify-email",
					hidden: { token },
					fields: [
						{
							name: "password",
							label: t("Your password"),
							type: "password",
							autocomplete: "current-password",
							required: false
						}
					],
					submit: t("Confirm e-mail address")
				}
			};
		},

		verifyEmailDone(passwordKept = true): Page {
			return {
				status: 200,
				title: t("E-mail address confirmed"),
				paragraphs: passwordKept
					? [t("Thank you: your e-mail address is confirmed. You can close this page.")]
					: [
							t("Thank you: your e-mail address is confirmed."),
							t(
								"No password is set for this account: sign in with a link by e-mail, or choose a password with “Forgot password”."
							)
						]
			};
		}
	};
}

/** The pages of a sign-in by link, and its second step. */
function signInPages(t: Translate) {
	return {
		magicLinkConfirm(token: string, next: string | null = null): Page {
			return {
				status: 200,
				title: t("Sign in"),
				paragraphs: [t("Press the button to sign in with this link. It works only once.")],
				form: {
					action: "/magic-link",
					hidden: withNext({ token }, next),
					submit: t("Sign in")
				}
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
				title: t("Enter your code"),
				paragraphs: [
					t(
						"Your account asks for a second step: type the code your authenticator app shows, or one of your recovery codes."
					)
				],
				errors,
				form: {
					action: "/magic-link/totp",
					hidden: withNext({ token: challenge }, next),
					fields: [
						{
							name: "code",
							label: t("Code"),
							type: "text",
							autocomplete: "one-time-code"
						}
					],
					submit: t("Sign in")
				}
			};
		},

		/**
		 * After a sign-in on a page: the browser holds the session in its cookies (never shown), and
		 * goes on to the application when one is configured.
		 */
		signedIn(cookies: string[], next: string | null): Page {
			return next
				? { status: 303, title: t("Signed in"), paragraphs: [], redirect: next, cookies }
				: {
						status: 200,
						title: t("You are signed in"),
						paragraphs: [
							t("You are signed in on this browser. You can close this page.")
						],
						cookies
					};
		}
	};
}

/** The password reset form. */
function passwordPages(t: Translate) {
	return {
		resetPasswordForm(token: string, errors: string[] = [], status = 200): Page {
			return {
				status,
				title: t("Choose a new password"),
				paragraphs: [t("Enter your new password twice (at least 10 characters).")],
				errors,
				form: {
					action: "/reset-password",
					hidden: { token },
					fields: [
						{
							name: "password",
							label: t("New password"),
							type: "password",
							autocomplete: "new-password"
						},
						{
							name: "confirmPassword",
							label: t("New password again"),
							type: "password",
							autocomplete: "new-password"
						}
					],
					submit: t("Change password")
				}
			};
		},

		resetPasswordDone(): Page {
			return {
				status: 200,
				title: t("Password changed"),
				paragraphs: [t("Your password has been changed. Sign in with your new password.")]
			};
		}
	};
}

/** The one-time action link pages. */
function actionLinkPages(t: Translate) {
	return {
		/** `label`: what the action registered for its links (`linkLabel`), never its internal name. */
		actionConfirm(token: string, label: string | null): Page {
			return {
				status: 200,
				title: t("Confirm"),
				paragraphs: [
					label
						? t("This link asks you to confirm: {label}.", { label })
						: t("This link asks you to confirm a request."),
					t("Press the button to continue. The link works once.")
				],
				form: { action: "/token", hidden: { token }, submit: t("Confirm") }
			};
		},

		actionDone(label: string | null): Page {
			return {
				status: 200,
				title: t("Done"),
				paragraphs: [
					label
						? t("Done: {label}. You can close this page.", { label })
						: t("Done. You can close this page.")
				]
			};
		}
	};
}

/** What a link page says when it cannot do what it was opened for. */
function statusPages(t: Translate) {
	return {
		invalidLink(status = 400): Page {
			return {
				status,
				title: t("This link is not valid"),
				paragraphs: [
					t(
						"The link is invalid, has expired or has already been used. Request a new one if you still need it."
					)
				]
			};
		},

		/** The request was understood but refused (e.g. the link's action is no longer allowed). */
		notCompleted(status: number): Page {
			return {
				status,
				title: t("This could not be completed"),
				paragraphs: [
					t("The request could not be completed. Contact us if this keeps happening.")
				]
			};
		},

		locked(): Page {
			return {
				status: 423,
				title: t("Please wait"),
				paragraphs: [t("This link was used a moment ago. Try again in a little while.")]
			};
		},

		tooManyRequests(): Page {
			return {
				status: 429,
				title: t("Too many requests"),
				paragraphs: [t("Too many requests from your network. Try again in a minute.")]
			};
		},

		unavailable(): Page {
			return {
				status: 503,
				title: t("Temporarily unavailable"),
				paragraphs: [t("The service is temporarily unavailable. Try again shortly.")]
			};
		},

		failed(): Page {
			return {
				status: 500,
				title: t("Something went wrong"),
				paragraphs: [t("Something went wrong on our side. Try again later.")]
			};
		}
	};
}

/** Every page the gateway serves for mail links, in the language `t` translates to. */
export function createPages(t: Translate) {
	return {
		...addressPages(t),
		...signInPages(t),
		...passwordPages(t),
		...actionLinkPages(t),
		...statusPages(t)
	};
}

/** The pages in English, as shipped. */
export const pages = createPages(translator({}));

export type Pages = ReturnType<typeof createPages>;
