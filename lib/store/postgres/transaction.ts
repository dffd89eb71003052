/**
 * Transactions on a connection reserved before BEGIN is sent. postgres.js 3.4's `sql.begin` sends
 * BEGIN through the shared pool and reserves the connection only afterwards; when BEGIN is the
 * query that fills a connection's pipeline the reservation is skipped, the call fails with
 * UNSAFE_TRANSACTION and the connection goes back to the pool inside an open transaction, where
 * other callers' queries then run (porsager/postgres#823, #1189). `sql.reserve()` hands out only an
 * idle connection, so nothing else is queued on it while the transaction runs.
 */
import postgres from "postgres";
import type { Sql } from "./database";

export type TransactionSql = postgres.ReservedSql;

/**
 * A connection the driver has already closed: it is back among the pool's closed connections, so
 * it is neither rolled back nor released.
 */
function connectionLost(err: unknown): boolean {
	if (err instanceof postgres.PostgresError) return false;
	const code = (err as { code?: unknown } | null)?.code;
	return typeof code === "string" && /^(CONNECTION_|CONNECT_TIMEOUT|E[A-Z]+$)/.test(code);
}

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(
	sql: Sql,
	work: (tx: TransactionSql) => Promise<T>
): Promise<T> {
	const tx = await sql.reserve();
	let release = true;
	try {
		await tx`begin`;
		const result = await work(tx);
		await tx`commit`;
		return result;
	} catch (err) {
		release = !connectionLost(err) && (await rollBack(tx));
		throw err;
	} finally {
		if (release) tx.release();
	}
}

/** Rolls back; false when the connection went with the failure (then it is not released). */
async function rollBack(tx: TransactionSql): Promise<boolean> {
	try {
		await tx`rollback`;
		return true;
	} catch (err) {
		return !connectionLost(err);
	}
}
