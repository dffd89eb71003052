/** Small async helpers shared by the suites. */
import { Errors } from "moleculer";

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Errors.MoleculerError> {
	try {
		await promise;
	} catch (err) {
		return err as Errors.MoleculerError;
	}
	throw new Error("expected the call to fail");
}

/** Runs `fn` with the clock (Date.now) moved forward by `ms`. */
export async function later<T>(ms: number, fn: () => Promise<T>): Promise<T> {
	const realNow = Date.now;
	Date.now = () => realNow() + ms;
	try {
		return await fn();
	} finally {
		Date.now = realNow;
	}
}

/** `name` was emitted with `payload` (by the next turn of the event loop), and no event carried `secret`. */
export async function expectEmittedWithout(
	events: { name: string; payload: unknown }[],
	secret: string,
	name: string,
	payload: unknown
): Promise<void> {
	await new Promise(r => setImmediate(r));
	expect(events).toContainEqual({ name, payload });
	expect(JSON.stringify(events)).not.toContain(secret);
}

/** The call fails with this status code (and error type, when given). */
export async function expectRefused(
	promise: Promise<unknown>,
	code: number,
	type?: string
): Promise<void> {
	expect(await rejection(promise)).toMatchObject(type === undefined ? { code } : { code, type });
}

/** The call fails validation: 422, a ValidationError naming `field`. */
export async function expectInvalidField(promise: Promise<unknown>, field: string): Promise<void> {
	const err = await rejection(promise);
	expect(err).toBeInstanceOf(Errors.ValidationError);
	expect(err.code).toBe(422);
	expect((err.data as { field: string }[]).map(d => d.field)).toContain(field);
}

/** Of concurrent calls, what the ones that passed answered; every other was refused with `code`/`type`. */
export function passedElseRefused<T>(
	results: PromiseSettledResult<T>[],
	code: number,
	type: string
): T[] {
	for (const r of results)
		if (r.status === "rejected") expect(r.reason).toMatchObject({ code, type });
	return results.flatMap(r => (r.status === "fulfilled" ? [r.value] : []));
}
