import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX, { createNodeResolver } from "eslint-plugin-import-x";

export default tseslint.config(
	{
		ignores: [
			"node_modules/",
			"dist/",
			"data/",
			"coverage/",
			"bench-results/",
			"jest.config.js"
		]
	},
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		rules: {
			"@typescript-eslint/no-unused-vars": [
				"error",
				{ argsIgnorePattern: "^_", varsIgnorePattern: "^_" }
			]
		}
	},
	{
		// No import circles anywhere in the code (type-only imports included: the first value
		// import along such a circle would come back undefined at load time).
		files: ["**/*.ts"],
		plugins: { "import-x": importX },
		settings: {
			"import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
			"import-x/extensions": [".ts", ".js"],
			"import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".json"] })]
		},
		rules: { "import-x/no-cycle": ["error", { ignoreExternal: true }] }
	},
	{
		// postgres.js 3.4's sql.begin can send BEGIN on a connection it then fails to reserve.
		files: ["**/*.ts"],
		rules: {
			"no-restricted-syntax": [
				"error",
				{
					selector: "CallExpression[callee.property.name='begin']",
					message:
						"Use inTransaction (lib/store/postgres/transaction): sql.begin can leave a pooled connection inside an open transaction."
				}
			]
		}
	},
	{
		// The house rules for the code itself (tests and benchmarks read as scripts): no file over
		// about 500 lines, no function over about 60.
		files: ["services/**/*.ts", "lib/**/*.ts", "mixins/**/*.ts", "moleculer.config.ts"],
		rules: {
			"max-lines": ["error", { max: 500, skipBlankLines: true, skipComments: true }],
			"max-lines-per-function": [
				"error",
				{ max: 60, skipBlankLines: true, skipComments: true }
			]
		}
	}
);
