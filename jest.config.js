/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: "node",
	roots: ["<rootDir>/test"],
	testMatch: ["**/*.spec.ts"],
	transform: {
		// Type-checking is `tsc --noEmit`'s job; ts-jest only transpiles so the suites start fast.
		"^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }],
		// jose 6 ships only ES modules, which jest's CommonJS runtime cannot require without
		// --experimental-vm-modules: transpile it like our own code (Node itself requires it natively).
		"/node_modules/jose/.+\\.js$": [
			"ts-jest",
			{
				tsconfig: {
					allowJs: true,
					module: "commonjs",
					target: "ES2022",
					isolatedModules: true
				}
			}
		]
	},
	transformIgnorePatterns: ["/node_modules/(?!jose/)"],
	globalSetup: "<rootDir>/test/global-setup.ts",
	testTimeout: 30000
};
