/**
 * The production scrypt cost (N=2^15, r=8, p=1): sign-in takes as long for an unknown login as for a
 * wrong password, hashes made with a lower cost are upgraded at sign-in, and the latency of sign-in
 * and refresh at that cost is reported.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Service } from "moleculer";
import type { AuthSettings, SessionTokens } from "../../../services/auth/auth.service";
import { DEFAULT_SCRYPT_PARAMS, paramsOf } from "../../../lib/auth/password";
import {
	FAST_SCRYPT,
	createVerifiedAccount,
	signIn,
	startAuthStack,
	type AuthStack,
	attemptLimits
} from "../../helpers/auth";
import { expectRefused } from "../../helpers/async";

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
	const start = process.hrtime.bigint();
	await fn().catch(() => undefined);
	return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The user's latest record in NeDB's append-only file. */
function storedHash(dataDir: string, userId: string): string {
	const lines = readFileSync(join(dataDir, "users.db"), "utf8").trim().split("\n");
	const records = lines.map(l => JSON.parse(l)).filter(r => r._id === userId);
	return records[records.length - 1].passwordHash;
}

describe("auth at the production scrypt cost", () => {
	let stack: AuthStack;

	beforeAll(async () => {
		stack = await startAuthStack({
			auth: {
				password: DEFAULT_SCRYPT_PARAMS,
				limits: attemptLimits({ signIn: 1000, address: 1000, mail: 1000 })
			}
		});
	});

	afterAll(async () => {
		await stack?.stop();
	});

	it("takes as long for a login that does not exist as for a wrong password", async () => {
		const account = await createVerifiedAccount(stack, "costly");
		expect(paramsOf(storedHash(stack.dataDir, account.id))).toEqual(DEFAULT_SCRYPT_PARAMS);
		const existing: number[] = [];
		const missing: number[] = [];
		// Interleaved, so load on the machine affects both alike.
		for (let i = 0; i < 7; i++) {
			existing.push(await timed(() => signIn(stack.broker, account.username, "wrong pw")));
			missing.push(await timed(() => signIn(stack.broker, `ghost${i}`, "wrong pw")));
		}
		const ratio = median(missing) / median(existing);
		// Without the dummy hash an unknown login answers in ~1 ms against ~100+ ms: ratio ~0.01.
		expect(ratio).toBeGreaterThan(0.6);
		expect(ratio).toBeLessThan(1.6);

		// Latency of a successful sign-in and of a refresh at this cost, for the docs.
		const signIns: number[] = [];
		let refreshToken = "";
		for (let i = 0; i < 5; i++) {
			signIns.push(
				await timed(async () => {
					refreshToken = (await signIn(stack.broker, account.username, account.password))
						.refreshToken;
				})
			);
		}
		const refreshes: number[] = [];
		for (let i = 0; i < 5; i++) {
			refreshes.push(
				await timed(async () => {
					refreshToken = (
						await stack.broker.call<SessionTokens, object>("auth.refresh", {
							refreshToken
						})
					).refreshToken;
				})
			);
		}
		console.log(
			`scrypt N=2^15 r=8 p=1 — median ms: sign-in ${median(signIns).toFixed(0)}, ` +
				`wrong password ${median(existing).toFixed(0)}, unknown login ${median(missing).toFixed(0)}, ` +
				`refresh ${median(refreshes).toFixed(1)}`
		);
	});

	it("upgrades a hash made with a lower cost at the next sign-in", async () => {
		const auth = stack.broker.getLocalService("auth") as unknown as Service<AuthSettings>;
		auth.settings.password = FAST_SCRYPT;
		let account;
		try {
			account = await createVerifiedAccount(stack, "upgraded");
		} finally {
			auth.settings.password = DEFAULT_SCRYPT_PARAMS;
		}
		expect(paramsOf(storedHash(stack.dataDir, account.id))).toEqual(FAST_SCRYPT);
		await signIn(stack.broker, account.username, account.password);
		// The re-hash runs after the answer.
		for (
			let i = 0;
			i < 50 && paramsOf(storedHash(stack.dataDir, account.id))!.N !== 32768;
			i++
		) {
			await new Promise(resolve => setTimeout(resolve, 100));
		}
		expect(paramsOf(storedHash(stack.dataDir, account.id))).toEqual(DEFAULT_SCRYPT_PARAMS);
		await expect(
			signIn(stack.broker, account.username, account.password)
		).resolves.toBeTruthy();
		await expectRefused(signIn(stack.broker, account.username, "not it"), 401);
	});
});
