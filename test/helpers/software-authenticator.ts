/** The software WebAuthn authenticator lives with the benchmarks, which sign in with it too. */
export * from "../../bench/software-authenticator";
