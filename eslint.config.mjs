import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
