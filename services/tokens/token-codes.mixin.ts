/**
 * Codes in `tokens` (lib/tokens/codes): short codes a person types, of the types whose settings
 * give `codeDigits`, each bound to a scope such as the address it was mailed to. Only the HMAC of
 * type, scope and code is stored; the caller (auth) bounds the guessing with its attempt budgets.
 */
import { tokensMixin } from "./tokens-internals";
import { Errors, type Context } from "moleculer";
import { codeSecret, createCode, isWellFormedCode } from "../../lib/tokens/codes";
import { assertStorableData } from "../../lib/store/storable-data";
import {
	toEntity,
	type ClientMeta,
	type ConsumeCodeParams,
	type GenerateCodeParams,
	type TokenEntity,
	type TokenEventPayload
} from "../../lib/tokens/token-types";
import { count } from "../../lib/broker/project-metrics";
import { fieldError } from "../../lib/broker/field-error";
import { DAY, OWNER } from "../../lib/tokens/token-params";

/** An address, an id: never a control character (it may be logged as a key by the caller). */
const CODE_SCOPE = {
	type: "string",
	min: 1,
	max: 320,
	// eslint-disable-next-line no-control-regex -- naming the control characters it refuses
	pattern: /^[^\u0000-\u001f]+$/
} as const;

/** 422 on `field`: e.g. a code type given to `generate`, or another type to `generateCode`. */
export function notThisKind(field: string, what: string): Errors.ValidationError {
	return fieldError(field, "tokenType", `The '${field}' field is ${what}.`);
}

const CodesMixin = tokensMixin({
	actions: {
		/**
		 * A code of a code type for `owner`, bound to `scope` (e.g. the address it is mailed to); it
		 * replaces the owner's earlier codes of the type. The only answer holding the `code`.
		 */
		generateCode: {
			params: {
				$$strict: true,
				type: { type: "enum", values: [] },
				owner: OWNER,
				scope: CODE_SCOPE,
				expiry: { type: "number", integer: true, positive: true, max: DAY, optional: true },
				data: { type: "object", optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(
				ctx: Context<GenerateCodeParams>
			): Promise<TokenEntity & { code: string }> {
				const { type, owner, scope, expiry, data } = ctx.params;
				const digits = this.typeOf(type).codeDigits;
				if (!digits) throw notThisKind("type", "not a code type");
				assertStorableData(data, "data");
				this.emitRemoved(ctx, await this.store.removeByOwner(owner, type), "replaced");
				const code = createCode(digits);
				const record = await this.storeNew(ctx, "generate_code", {
					type,
					owner,
					hash: this.hasher.hash(codeSecret(type, scope, code)),
					data,
					ttl: expiry ?? this.typeOf(type).ttl ?? DAY
				});
				return { ...toEntity(record), code };
			}
		},

		/** consume for codes: the code's entity, spent atomically, when scope and code match. */
		consumeCode: {
			params: {
				$$strict: true,
				type: { type: "enum", values: [] },
				scope: CODE_SCOPE,
				code: { type: "string", max: 32 },
				owner: { ...OWNER, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(
				ctx: Context<ConsumeCodeParams, ClientMeta>
			): Promise<TokenEntity | null> {
				const { type, scope, code, owner } = ctx.params;
				const digits = this.typeOf(type).codeDigits;
				const record =
					digits && isWellFormedCode(code, digits)
						? await this.store.consume(
								{
									hashes: this.hasher.candidates(codeSecret(type, scope, code)),
									type,
									owner
								},
								Date.now()
							)
						: null;
				if (!record) return this.countFailure(ctx, "consume_code", type, "not_found");
				count(this.broker, "mtk.tokens.operations.total", {
					operation: "consume_code",
					type,
					result: "valid"
				});
				ctx.emit<TokenEventPayload>("tokens.consumed", {
					id: record._id,
					type,
					owner: record.owner
				});
				return toEntity(record);
			}
		}
	}
});

export default CodesMixin;
