/**
 * Mixins checked against the service they join. moleculer's `mixins` slot takes
 * `Partial<ServiceSchema>` with its default `this`, so a mixin written for one service's `this`
 * does not fit it as typed; `typedMixin` is the one place the two meet. Within a `MixinOf` the
 * actions and event handlers see the whole service as `this`, and each method the mixin provides
 * is checked against the service's method interface (its name, parameters and answer).
 */
import type { Service, ServiceSchema } from "moleculer";

type Implementations<TMethods, TThis> = {
	[K in keyof TMethods]: TMethods[K] extends (...args: infer A) => infer R
		? (this: TThis, ...args: A) => R
		: never;
};

export type MixinOf<TSettings, TMethods, TVars> = Omit<
	Partial<ServiceSchema<TSettings, TMethods, TVars, Service<TSettings> & TMethods & TVars>>,
	"methods"
> & { methods?: Partial<Implementations<TMethods, Service<TSettings> & TMethods & TVars>> };

export function typedMixin<TSettings, TMethods, TVars>(
	mixin: MixinOf<TSettings, TMethods, TVars>
): Partial<ServiceSchema> {
	return mixin as Partial<ServiceSchema>;
}
