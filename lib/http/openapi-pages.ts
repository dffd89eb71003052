/**
 * The OpenAPI paths of the pages behind the links in our mails: GET shows a button, only the POST
 * spends the token. lib/http/openapi.ts assembles the document.
 */
import { str, PASSWORD, tokenParam, page, pagePost } from "./openapi-parts";

export const PAGE_PATHS: Record<string, unknown> = {
	"/verify-email": {
		get: page(
			"Confirm page for an e-mail verification link (does not spend it)",
			[tokenParam],
			[200, 400, 429]
		),
		post: pagePost(
			"Confirm the e-mail address (spends the token); the sign-up password is kept only if given",
			{ password: str() },
			[200, 400, 401, 429, 503],
			["password"]
		)
	},
	"/magic-link": {
		get: page(
			"Sign-in page for a magic link (does not spend it)",
			[tokenParam],
			[200, 400, 429]
		),
		post: pagePost(
			"Sign in (spends the token): the session goes into cookies and the browser on to APP_URL (303), or the page says it is signed in; never a token on the page",
			{},
			[200, 303, 400, 429, 503]
		)
	},
	"/magic-link/totp": {
		post: pagePost(
			"The second step after a magic link for an account with TOTP on: the challenge in `token`, a code or a recovery code in `code`",
			{ code: str() },
			[200, 400, 401, 429, 503]
		)
	},
	"/reset-password": {
		get: page(
			"New-password form for a reset link (does not spend it)",
			[tokenParam],
			[200, 400, 429]
		),
		post: pagePost(
			"Set the new password (spends the token)",
			{ password: PASSWORD, confirmPassword: PASSWORD },
			[200, 400, 422, 429, 503]
		)
	},
	"/token": {
		post: pagePost(
			"Run a one-time action link, token in the form (the confirm page's button)",
			{},
			[200, 400, 404, 423, 429, 503]
		)
	},
	"/token/{token}": {
		get: page(
			"Confirm page for a one-time action link (does not spend it)",
			[{ name: "token", in: "path", required: true, schema: str() }],
			[200, 404, 429]
		),
		post: {
			...page(
				"Run the action link (spends it)",
				[{ name: "token", in: "path", required: true, schema: str() }],
				[200, 404, 423, 429, 503]
			)
		}
	}
};
