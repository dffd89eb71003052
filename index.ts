/**
 * The package entry for sibling services (`npm install moleculer-tokens`, moleculer as a peer
 * dependency): what a service of another team needs to work beside this project's services.
 *
 * - `JwtVerifierMixin`: verify `auth`'s access tokens locally against its JWKS;
 * - `failoverBrokerOptions` (or `FailoverMiddleware` and `FailoverStrategy`): fail over from a node
 *   that died in under a second, as this project's own nodes do;
 * - the parameter and result types of the `tokens` and `auth` actions a sibling calls.
 *
 * The services themselves run from this project (`npm start`, moleculer-runner), not from here.
 */
export { default as JwtVerifierMixin } from "./mixins/jwt-verifier.mixin";
export type { JwtVerifierSettings, VerifiedCaller } from "./mixins/jwt-verifier.mixin";
export {
	FailoverMiddleware,
	FailoverStrategy,
	failoverBrokerOptions,
	NODE_UNRESPONSIVE,
	FAILOVER_DEFAULTS,
	type FailoverOptions
} from "./lib/broker/failover";
export { TOKEN_TYPES } from "./lib/tokens/token-types";
export type {
	TokenEntity,
	GenerateParams,
	CheckParams,
	RemoveParams,
	ConsumeParams,
	GenerateCodeParams,
	ConsumeCodeParams,
	OwnerParams,
	RevokeParams,
	TokenEventPayload
} from "./lib/tokens/token-types";
export type {
	AuthUser,
	PublicUser,
	SessionTokens,
	SignInResult,
	ResolvedUser,
	UserEventPayload
} from "./lib/auth/auth-types";
