/** `auth`'s attempt limits (lib/auth/sign-in-attempts/attempt-limiter) from the environment. */
import { durationFromEnv } from "../../config/durations";
import { positiveWholeNumberFromEnv } from "../../config/env";
import { emailKeyOf } from "../store/user-store";

export interface LimitSettings {
	maxAttempts: number;
	/** Seconds. */
	window: number;
}

export interface AttemptLimits {
	/** Sign-in attempts per login name or e-mail address (counted when they start). */
	signIn: LimitSettings;
	/** Failed sign-ins and token submissions per client address (`meta.ip`). */
	address: LimitSettings;
	/** Mails (verification, magic link, reset, codes) requested per e-mail address. */
	mail: LimitSettings;
	/** Submissions of one code (per address; a new code starts again): then it is dead. */
	codeAttempts: LimitSettings;
	/** Code submissions per address in an hour, however many codes were requested. */
	codeHourly: LimitSettings;
	/** TOTP codes per sign-in challenge: then it is locked. */
	totp: LimitSettings;
	/** TOTP and recovery codes per account in an hour, over every challenge. */
	totpAccount: LimitSettings;
}

export function attemptLimitsFromEnv(env: NodeJS.ProcessEnv): AttemptLimits {
	const window = durationFromEnv(env, "AUTH_ATTEMPT_WINDOW", 15 * 60);
	const limit = (name: string, fallback: number, seconds = window): LimitSettings => ({
		maxAttempts: positiveWholeNumberFromEnv(env, name, fallback),
		window: seconds
	});
	return {
		signIn: limit("AUTH_MAX_SIGNIN_ATTEMPTS", 5),
		address: limit("AUTH_MAX_FAILURES_PER_ADDRESS", 50),
		mail: limit("AUTH_MAX_MAILS_PER_ADDRESS", 5),
		codeAttempts: limit("AUTH_CODE_ATTEMPTS", 3, 3600),
		codeHourly: limit("AUTH_CODE_ATTEMPTS_PER_HOUR", 10, 3600),
		totp: limit("AUTH_TOTP_ATTEMPTS", 5, 300),
		totpAccount: limit("AUTH_TOTP_ATTEMPTS_PER_HOUR", 10, 3600)
	};
}

/** The e-mailed codes' budgets are per address (whether or not it has an account). */
export function codeLimitKey(email: string): string {
	return `code:${emailKeyOf(email)}`;
}

/** Budgets of one account: its sign-in attempts, TOTP codes and mails. */
export const accountLimitKeys = {
	signIn: (userId: string) => `account:${userId}`,
	totp: (userId: string) => `totp:${userId}`,
	mail: (email: string) => `mail:${emailKeyOf(email)}`
};
