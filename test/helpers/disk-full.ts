/**
 * A data file that cannot be written, for store-failure suites: while "full", `<dataDir>/<file>` is a
 * symlink to /dev/full (every write fails with ENOSPC, even for root) and the real file waits beside
 * it; `stop()` puts the real file back. Reads are unaffected: NeDB serves them from memory.
 */
import { existsSync, renameSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { Errors } from "moleculer";
import { STORE_UNAVAILABLE } from "../../lib/store/store-errors";
import { rejection } from "./async";
export { rejection };

export class DiskFull {
	private readonly file: string;

	constructor(dataDir: string, fileName: string) {
		this.file = join(dataDir, fileName);
	}

	start(): void {
		renameSync(this.file, `${this.file}.real`);
		symlinkSync("/dev/full", this.file);
	}

	stop(): void {
		if (!existsSync(`${this.file}.real`)) return;
		unlinkSync(this.file);
		renameSync(`${this.file}.real`, this.file);
	}
}

/** A retryable 503 STORE_UNAVAILABLE that names neither the cause nor a path. */
export function expectStoreUnavailable(err: unknown, dataDir: string): void {
	expect(err).toBeInstanceOf(Errors.MoleculerRetryableError);
	expect(err).toMatchObject({ code: 503, type: STORE_UNAVAILABLE, retryable: true });
	const e = err as Errors.MoleculerError;
	const body = JSON.stringify({ ...e, message: e.message });
	for (const internal of ["ENOSPC", "/dev/full", ".db", dataDir, "appendFile"]) {
		expect(body).not.toContain(internal);
	}
}
