/**
 * The pages behind the links in our mails, as the gateway's handlers (lib/http/route-table names them).
 * Opening a link (GET) never spends its token: the page shows a button, a form POST carrying the
 * token in a hidden field, and only that POST spends it. Rendering is lib/http/page-rendering.
 */
import type { Context } from "moleculer";
import type { GatewayResponse, IncomingRequest } from "moleculer-web";
import type { Page, Pages, SessionTokens } from "../../lib/http/page-rendering";
import { toPublicError } from "../../lib/http/public-error";
import { MAX_TOKEN_LENGTH } from "../../lib/tokens/format";
import { TOKEN_TYPES } from "../../lib/tokens/token-types";
import type { ApiThis } from "./gateway-internals";

/** The one-time token types behind the three mail pages (tokens.service settings.types). */
export const PAGE_TOKEN_TYPES = {
	verifyEmail: TOKEN_TYPES.verification,
	magicLink: TOKEN_TYPES.magicLink,
	resetPassword: TOKEN_TYPES.passwordReset
} as const;

export function tokenParam(params: Record<string, unknown>): string | null {
	const token = params.token;
	return typeof token === "string" && token.length > 0 && token.length <= MAX_TOKEN_LENGTH
		? token
		: null;
}

function stringParam(params: Record<string, unknown>, name: string): string | undefined {
	const value = params[name];
	return typeof value === "string" ? value : undefined;
}

/** A sign-in's answer when a second step is due (auth's `mfaRequired`). */
interface SecondStep {
	mfaRequired: true;
	challenge: string;
}

type PageRender = (this: ApiThis, ctx: Context, params: Record<string, unknown>) => Promise<Page>;

/** A moleculer-web alias function that answers with the page `render` builds. */
function pageAlias(render: PageRender) {
	return function (
		this: ApiThis,
		req: IncomingRequest,
		res: GatewayResponse,
		next?: (err?: unknown) => void
	) {
		this.servePage(req, res, next!, render.bind(this));
	};
}

/**
 * GET of a mail link: the page asking to confirm (a button, or the reset form) while the token is
 * alive, unspent; otherwise the invalid-link page.
 */
function confirmationPage(type: string, confirm: (pages: Pages, token: string) => Page) {
	return pageAlias(async function (ctx, params) {
		const token = tokenParam(params);
		return token && (await this.tokenIsAlive(ctx, type, token))
			? confirm(this.pages, token)
			: this.pages.invalidLink();
	});
}

/** The page for a failed page request. */
export function pageForError(pages: Pages, status: number, type: string, aliasPath: string): Page {
	if (status === 429) return pages.tooManyRequests();
	if (status === 423) return pages.locked();
	if (status === 503 || status === 504) return pages.unavailable();
	if (status >= 500) return pages.failed();
	// A malformed token fails validation (422): to the reader it is just as invalid.
	if (type === "INVALID_OR_EXPIRED_TOKEN" || [400, 404, 422].includes(status)) {
		return pages.invalidLink(aliasPath.startsWith("/token") ? 404 : 400);
	}
	return pages.notCompleted(status);
}

/** POST /token and /token/:token: spends an action link and runs its action. */
async function redeemLink(
	this: ApiThis,
	ctx: Context,
	params: Record<string, unknown>
): Promise<Page> {
	const token = tokenParam(params);
	// No token at all is a malformed request, not an unknown link.
	if (!token) return this.pages.invalidLink(400);
	const done = await ctx.call<{ action: string }, object>("links.redeem", { token });
	return this.pages.actionDone(linkLabelOf(this, done.action));
}

/**
 * What an action registered for the pages of its links (`linkLabel` in its schema, which travels
 * with the registry), e.g. "subscribe to the newsletter"; null when it registered none. Never the
 * action's internal name.
 */
function linkLabelOf(api: ApiThis, action: string): string | null {
	const found = api.broker.registry
		.getActionList({ onlyAvailable: true })
		.find(a => a.name === action);
	const label = (found?.action as { linkLabel?: unknown } | undefined)?.linkLabel;
	return typeof label === "string" && label !== "" ? label : null;
}

/** The `next` URL a sign-in page was given (query or form), if any: checked by signedInPage. */
function nextOf(params: Record<string, unknown>): string | null {
	const next = params.next;
	return typeof next === "string" && next.length <= 2000 ? next : null;
}

/** The page routes' handlers, by the names lib/http/route-table gives them. */
export const PAGE_HANDLERS = {
	verifyEmailPage: confirmationPage(PAGE_TOKEN_TYPES.verifyEmail, (pages, token) =>
		pages.verifyEmailConfirm(token)
	),
	verifyEmail: pageAlias(async function (ctx, params) {
		const token = tokenParam(params);
		if (!token) return this.pages.invalidLink();
		const password = stringParam(params, "password");
		try {
			const { passwordKept } = await ctx.call<{ passwordKept: boolean }, object>(
				"auth.verifyEmail",
				password ? { token, password } : { token }
			);
			return this.pages.verifyEmailDone(passwordKept);
		} catch (err) {
			// A wrong password: the link is not spent, ask again.
			const { status, body } = toPublicError(err);
			if (status !== 401 || body.type !== "INVALID_CREDENTIALS") throw err;
			return this.pages.verifyEmailConfirm(token, [body.message], 401);
		}
	}),
	magicLinkPage: pageAlias(async function (ctx, params) {
		const token = tokenParam(params);
		return token && (await this.tokenIsAlive(ctx, PAGE_TOKEN_TYPES.magicLink, token))
			? this.pages.magicLinkConfirm(token, nextOf(params))
			: this.pages.invalidLink();
	}),
	magicLink: pageAlias(async function (ctx, params) {
		const token = tokenParam(params);
		if (!token) return this.pages.invalidLink();
		const answer = await ctx.call<SessionTokens | SecondStep, object>(
			"auth.signInWithMagicLink",
			{ token }
		);
		// With TOTP on, the link was the first step: the page goes on to the second.
		if ("mfaRequired" in answer)
			return this.pages.magicLinkTotp(answer.challenge, nextOf(params));
		return this.signedInPage(answer, nextOf(params));
	}),
	magicLinkTotp: pageAlias(async function (ctx, params) {
		const challenge = tokenParam(params);
		if (!challenge) return this.pages.invalidLink();
		const typed = (stringParam(params, "code") ?? "").trim();
		// Six digits from the app, or a recovery code.
		const code = /^\d{6}$/.test(typed) ? { code: typed } : { recoveryCode: typed };
		try {
			const session = await ctx.call<SessionTokens, object>("auth.signInWithTotp", {
				challenge,
				...code
			});
			return this.signedInPage(session, nextOf(params));
		} catch (err) {
			// A wrong code: the challenge lives on (5 tries), ask again.
			const { status, body } = toPublicError(err);
			if (status !== 401 || body.type !== "INVALID_CODE") throw err;
			return this.pages.magicLinkTotp(challenge, nextOf(params), [body.message], 401);
		}
	}),
	resetPasswordPage: confirmationPage(PAGE_TOKEN_TYPES.resetPassword, (pages, token) =>
		pages.resetPasswordForm(token)
	),
	resetPassword: pageAlias(async function (ctx, params) {
		const token = tokenParam(params);
		if (!token) return this.pages.invalidLink();
		try {
			await ctx.call("auth.resetPassword", {
				token,
				password: stringParam(params, "password") ?? "",
				confirmPassword: stringParam(params, "confirmPassword") ?? ""
			});
		} catch (err) {
			// A rejected password: the token is not spent, ask again.
			const { status, body } = toPublicError(err);
			if (status !== 422) throw err;
			const messages = Array.isArray(body.data)
				? body.data.map(d => String((d as { message?: unknown }).message))
				: [body.message];
			return this.pages.resetPasswordForm(token, messages, 422);
		}
		return this.pages.resetPasswordDone();
	}),
	actionLinkPage: pageAlias(async function (ctx, params) {
		const token = tokenParam(params);
		const link = token
			? await ctx.call<{ action: string } | null, object>("links.load", { token })
			: null;
		return token && link
			? this.pages.actionConfirm(token, linkLabelOf(this, link.action))
			: this.pages.invalidLink(404);
	}),
	redeemActionLink: pageAlias(redeemLink)
};
