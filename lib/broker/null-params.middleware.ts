/**
 * moleculer validates `null` params as `{}` but hands the handler `null`, so an action whose
 * parameters are all optional would crash on `ctx.params.x`. Handlers get `{}` instead.
 */
import type { Context, Middleware } from "moleculer";

type Handler = (ctx: Context) => unknown;

const NullParamsMiddleware = {
	name: "NullParams",
	localAction(handler: Handler): Handler {
		return function nullParamsAsEmpty(ctx: Context) {
			if (ctx.params == null) (ctx as { params: unknown }).params = {};
			return handler(ctx);
		};
	}
} as unknown as Middleware;

export default NullParamsMiddleware;
