/**
 * PostgreSQL for `BENCH_STORE=postgres`: a schema of the benchmark's own on BENCH_DATABASE_URL
 * (default: the local test database), and the server's own ceiling on this machine measured in the
 * same run: `pgbench -S -M prepared` (primary-key lookups) with as many clients as the project's pool.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import postgres from "postgres";

export const BENCH_DATABASE_URL =
	process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export function benchSchema(): string {
	return `bench_${randomBytes(4).toString("hex")}`;
}

export async function dropBenchSchema(schema: string): Promise<void> {
	const sql = postgres(BENCH_DATABASE_URL, { max: 1, onnotice: () => undefined });
	try {
		await sql.unsafe(`drop schema if exists "${schema}" cascade`);
	} finally {
		await sql.end({ timeout: 5 });
	}
}

/** pgbench's select-only transactions per second (one primary-key lookup each). */
export function pgbenchLookups(schema: string, clients: number, seconds: number): number {
	const url = new URL(BENCH_DATABASE_URL);
	const args = [
		"-h",
		url.hostname,
		"-p",
		url.port || "5432",
		"-U",
		decodeURIComponent(url.username || "postgres"),
		url.pathname.slice(1) || "postgres"
	];
	// pgbench's tables in the benchmark's schema, not in public.
	const env = { ...process.env, PGOPTIONS: `-c search_path=${schema}` };
	const sql = `create schema if not exists ${schema}`;
	execFileSync("psql", [...args.slice(0, -1), "-c", sql, args.at(-1)!], { env, stdio: "pipe" });
	execFileSync("pgbench", ["-i", "-q", "-s", "1", ...args], { env, stdio: "pipe" });
	const out = execFileSync(
		"pgbench",
		["-S", "-M", "prepared", "-c", String(clients), "-j", "2", "-T", String(seconds), ...args],
		{ env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }
	);
	const match = /tps = ([\d.]+)/.exec(out);
	if (!match) throw new Error(`pgbench printed no tps:\n${out}`);
	return Number(match[1]);
}
