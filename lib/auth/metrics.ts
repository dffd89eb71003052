/**
 * What `auth`'s answers count in the project's metrics (lib/broker/project-metrics): one place
 * that maps an action and its outcome to counters, so the handlers stay free of metric calls.
 */
import type { ProjectMetric } from "../broker/project-metrics";

export interface MetricCount {
	metric: ProjectMetric;
	labels: Record<string, string>;
}

/** The actions that sign in, and the method each is. */
export const SIGN_IN_METHODS: Readonly<Record<string, string>> = {
	"auth.signIn": "password",
	"auth.signInWithMagicLink": "magic-link",
	"auth.signInWithEmailCode": "email-code",
	"auth.verifyDevice": "new-device",
	"auth.signInWithTotp": "totp",
	"auth.signInWithPasskey": "passkey",
	"auth.signInWithPasskeyStep": "passkey-step"
};

const CODE_KINDS: Readonly<Record<string, string>> = {
	"auth.signInWithEmailCode": "email_code",
	"auth.verifyEmailWithCode": "email_code",
	"auth.verifyDevice": "email_code",
	"auth.signInWithTotp": "totp",
	"auth.confirmTotp": "totp",
	"auth.disableTotp": "totp"
};

/** The counts of a failed call of `action` with an error of `type` (and the field it names). */
export function failureCounts(action: string, type: string, field?: string): MetricCount[] {
	const counts: MetricCount[] = [];
	const method = SIGN_IN_METHODS[action];
	if (type === "TOO_MANY_ATTEMPTS") {
		counts.push({ metric: "mtk.limit_refusals.total", labels: { limit: action } });
		if (method) counts.push(signIn(method, "limited"));
		return counts;
	}
	if (type === "INVALID_CODE" && CODE_KINDS[action]) {
		const kind = field === "recoveryCode" ? "recovery_code" : CODE_KINDS[action];
		counts.push({ metric: "mtk.auth.code_failures.total", labels: { kind } });
	}
	if (action === "auth.refresh" && type === "INVALID_TOKEN") {
		counts.push({ metric: "mtk.auth.refreshes.total", labels: { result: "invalid" } });
	}
	if (method && /^INVALID_/.test(type)) counts.push(signIn(method, "invalid"));
	return counts;
}

export function signIn(method: string, result: string): MetricCount {
	return { metric: "mtk.auth.sign_ins.total", labels: { method, result } };
}
