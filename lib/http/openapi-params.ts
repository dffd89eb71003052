/**
 * JSON Schema (the OpenAPI 3.0 dialect) of an action's fastest-validator parameters, so the
 * OpenAPI document states exactly the lengths, ranges, enums and required fields that the
 * actions enforce. Only the rule kinds this project uses are translated; anything else is
 * documented as "any value".
 */
export type Schema = Record<string, unknown>;
export type ParamsSchema = Record<string, unknown>;

type Rule = Record<string, unknown> & { type?: string };

function ruleOf(value: unknown): Rule | null {
	if (typeof value === "string") return { type: value.split("|")[0] };
	return value && typeof value === "object" && !Array.isArray(value) ? (value as Rule) : null;
}

function isOptional(rule: Rule): boolean {
	return rule.optional === true || rule.default !== undefined;
}

function lengths(rule: Rule, min: string, max: string): Schema {
	return {
		...(typeof rule.min === "number" ? { [min]: rule.min } : {}),
		...(typeof rule.max === "number" ? { [max]: rule.max } : {})
	};
}

/** One rule as a JSON Schema. */
export function schemaOfRule(value: unknown): Schema {
	// fastest-validator's multi-rule: any one of them.
	if (Array.isArray(value)) return { oneOf: value.map(schemaOfRule) };
	const rule = ruleOf(value);
	if (!rule) return {};
	switch (rule.type) {
		case "string": {
			const pattern = rule.pattern instanceof RegExp ? rule.pattern.source : rule.pattern;
			return {
				type: "string",
				...lengths(rule, "minLength", "maxLength"),
				...(typeof pattern === "string" ? { pattern } : {})
			};
		}
		case "email":
			return { type: "string", format: "email", ...lengths(rule, "minLength", "maxLength") };
		case "number":
			return {
				type: rule.integer === true ? "integer" : "number",
				...(rule.positive === true ? { minimum: rule.integer === true ? 1 : 0 } : {}),
				...lengths(rule, "minimum", "maximum")
			};
		case "boolean":
			return { type: "boolean" };
		case "enum":
			return { type: "string", enum: [...((rule.values as unknown[]) ?? [])] };
		case "array":
			return {
				type: "array",
				items: schemaOfRule(rule.items),
				...lengths(rule, "minItems", "maxItems")
			};
		case "object": {
			const props = (rule.props ?? rule.properties) as ParamsSchema | undefined;
			return props ? objectSchema(props, rule.strict === true) : { type: "object" };
		}
		case "equal":
			return typeof rule.field === "string"
				? { description: `Must equal '${rule.field}'.` }
				: {};
		default:
			return {};
	}
}

function objectSchema(params: ParamsSchema, strict: boolean, omit: string[] = []): Schema {
	const properties: Record<string, Schema> = {};
	const required: string[] = [];
	for (const [name, value] of Object.entries(params)) {
		if (name.startsWith("$$") || omit.includes(name)) continue;
		const rules = Array.isArray(value) ? value.map(ruleOf) : [ruleOf(value)];
		properties[name] = schemaOfRule(value);
		if (rules.every(rule => rule && !isOptional(rule))) required.push(name);
	}
	return {
		type: "object",
		...(strict ? { additionalProperties: false } : {}),
		properties,
		...(required.length ? { required } : {})
	};
}

/** An action's parameters as a request body schema, without those taken from the path. */
export function bodySchemaOfParams(params: ParamsSchema, pathParams: string[] = []): Schema {
	return objectSchema(params, params.$$strict === true, pathParams);
}

/** An action's parameters as OpenAPI parameters: path ones from the path, the rest in the query. */
export function parametersOfParams(params: ParamsSchema, pathParams: string[]): Schema[] {
	const out: Schema[] = [];
	for (const [name, value] of Object.entries(params)) {
		if (name.startsWith("$$")) continue;
		const rule = ruleOf(value);
		const inPath = pathParams.includes(name);
		out.push({
			name,
			in: inPath ? "path" : "query",
			required: inPath || (rule !== null && !isOptional(rule)),
			schema: schemaOfRule(value)
		});
	}
	return out;
}
