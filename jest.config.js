/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: "node",
	roots: ["<rootDir>/test"],
	testMatch: ["**/*.spec.ts"],
	transform: {
		// Type-checking is `tsc --noEmit`'s job; ts-jest only transpiles so the suites start fast.
		"^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }]
	},
	globalSetup: "<rootDir>/test/global-setup.ts",
	testTimeout: 30000
};
