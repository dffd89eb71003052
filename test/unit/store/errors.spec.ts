import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { freePort } from "../../helpers/process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Errors } from "moleculer";
import {
	INTERNAL_ERROR,
	INVALID_DATA,
	STORE_UNAVAILABLE,
	describeCause,
	isStoreUnavailable,
	publicError
} from "../../../lib/store/store-errors";

/** The 3.x driver moleculer-db-adapter-mongo uses; it ships no types. */
interface MongoDriver {
	MongoClient: {
		connect(uri: string, options: Record<string, unknown>): Promise<{ close(): Promise<void> }>;
	};
	MongoError: new (fields: { message: string; code?: number }) => Error & {
		code?: number;
		addErrorLabel(label: string): void;
	};
	MongoNetworkError: new (message: string) => Error;
	MongoTimeoutError: new (message: string) => Error;
	MongoWriteConcernError: new (fields: { message: string; code: number }) => Error;
}
const mongodb: MongoDriver = jest.requireActual("mongodb");

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
	try {
		await promise;
	} catch (err) {
		return err;
	}
	throw new Error("expected a failure");
}

describe("store errors", () => {
	describe("the embedded store's file errors, produced for real", () => {
		let dir: string;
		beforeAll(async () => {
			dir = await mkdtemp(join(tmpdir(), "store-errors-"));
		});
		afterAll(() => rm(dir, { recursive: true, force: true }));

		it("disk full (ENOSPC, appending to /dev/full) is a store outage", async () => {
			const err = await rejectionOf(appendFile("/dev/full", "x\n"));
			expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
			expect(isStoreUnavailable(err)).toBe(true);
		});

		it("a data file replaced by a folder (EISDIR) is a store outage", async () => {
			const err = await rejectionOf(appendFile(dir, "x\n"));
			expect((err as NodeJS.ErrnoException).code).toBe("EISDIR");
			expect(isStoreUnavailable(err)).toBe(true);
		});

		it("a removed data folder (ENOENT) is a store outage", async () => {
			const err = await rejectionOf(appendFile(join(dir, "gone", "tokens.db"), "x\n"));
			expect((err as NodeJS.ErrnoException).code).toBe("ENOENT");
			expect(isStoreUnavailable(err)).toBe(true);
		});
	});

	describe("MongoDB driver errors (they carry no HTTP status)", () => {
		it("no server to select (unified topology) is a store outage", async () => {
			// Nothing listens on a port found free.
			const port = await freePort();
			const err = await rejectionOf(
				mongodb.MongoClient.connect(`mongodb://127.0.0.1:${port}/tokens`, {
					useUnifiedTopology: true,
					serverSelectionTimeoutMS: 200
				})
			);
			expect((err as Error).name).toBe("MongoServerSelectionError");
			expect(isStoreUnavailable(err)).toBe(true);
		});

		it.each([
			["MongoNetworkError", new mongodb.MongoNetworkError("connection 3 closed")],
			["MongoTimeoutError", new mongodb.MongoTimeoutError("Server selection timed out")],
			["not primary (10107)", new mongodb.MongoError({ message: "not master", code: 10107 })],
			[
				"primary stepped down (189)",
				new mongodb.MongoError({ message: "stepped down", code: 189 })
			],
			[
				"shutdown in progress (91)",
				new mongodb.MongoError({ message: "shutting down", code: 91 })
			],
			["closed client (3.x)", new mongodb.MongoError({ message: "Topology was destroyed" })],
			[
				"a newer driver's class, by name",
				Object.assign(new Error("Topology is closed"), { name: "MongoTopologyClosedError" })
			]
		])("%s is a store outage", (_name, err) => {
			expect(isStoreUnavailable(err)).toBe(true);
		});

		it("an error labelled retryable by the driver is a store outage", () => {
			const err = new mongodb.MongoError({ message: "transient", code: 123456 });
			expect(isStoreUnavailable(err)).toBe(false);
			err.addErrorLabel("RetryableWriteError");
			expect(isStoreUnavailable(err)).toBe(true);
		});

		it.each([
			["duplicate key (11000)", new mongodb.MongoError({ message: "E11000", code: 11000 })],
			[
				"a write concern failure (the write may have happened)",
				new mongodb.MongoWriteConcernError({ message: "waiting for replication", code: 64 })
			],
			["a bad query (2)", new mongodb.MongoError({ message: "unknown operator", code: 2 })]
		])("%s is not an outage", (_name, err) => {
			expect(isStoreUnavailable(err)).toBe(false);
		});
	});

	it.each([
		["a programming error", new TypeError("x is not a function")],
		[
			"NeDB's unique constraint",
			Object.assign(new Error("dup"), { errorType: "uniqueViolated" })
		],
		["a string", "ENOSPC"],
		["null", null],
		["a moleculer client error", new Errors.MoleculerClientError("no", 404, "NOT_FOUND")],
		// A 503 raised on purpose elsewhere keeps its own type.
		["a moleculer retryable error", new Errors.MoleculerRetryableError("busy", 503, "BUSY")]
	])("%s is not a store outage", (_name, err) => {
		expect(isStoreUnavailable(err)).toBe(false);
	});

	describe("publicError", () => {
		it("turns an outage into a retryable 503 STORE_UNAVAILABLE without the cause", () => {
			const cause = Object.assign(
				new Error("ENOSPC: no space left, write '/srv/data/tokens.db'"),
				{
					code: "ENOSPC"
				}
			);
			const err = publicError(cause);
			expect(err).toBeInstanceOf(Errors.MoleculerRetryableError);
			expect(err.name).toBe("MoleculerRetryableError"); // rebuilt as such by remote callers
			expect(err).toMatchObject({ code: 503, type: STORE_UNAVAILABLE, retryable: true });
			expect(JSON.stringify(err)).not.toMatch(/ENOSPC|tokens\.db|srv/);
			expect(err.message).not.toMatch(/ENOSPC|tokens\.db/);
		});

		it("turns anything else unexpected into a bare 500 INTERNAL_ERROR", () => {
			const err = publicError(
				new mongodb.MongoError({ message: "E11000 dup key", code: 11000 })
			);
			expect(err).toMatchObject({ code: 500, type: INTERNAL_ERROR });
			expect(err.retryable).toBeFalsy();
			expect(err.message).not.toMatch(/E11000/);
		});

		it("turns PostgreSQL's data exceptions (class 22) into a 400 the breaker does not count", () => {
			for (const code of ["22021", "22P05", "22001"]) {
				const cause = Object.assign(
					new Error('invalid byte sequence for encoding "UTF8": 0x00'),
					{ name: "PostgresError", code }
				);
				const err = publicError(cause);
				expect(err).toBeInstanceOf(Errors.MoleculerClientError);
				expect(err).toMatchObject({ code: 400, type: INVALID_DATA });
				expect(err.message).not.toMatch(/UTF8|0x00/);
				expect(isStoreUnavailable(cause)).toBe(false);
			}
		});

		it("passes moleculer's own errors through unchanged", () => {
			const validation = new Errors.ValidationError("bad", "VALIDATION_ERROR", []);
			expect(publicError(validation)).toBe(validation);
			const timeout = new Errors.RequestTimeoutError({ action: "tokens.check", nodeID: "n" });
			expect(publicError(timeout)).toBe(timeout);
		});
	});

	it("describes the cause in one line for the log", () => {
		const cause = Object.assign(new Error("no space left"), { code: "ENOSPC" });
		expect(describeCause(cause)).toBe("Error (ENOSPC): no space left");
		expect(describeCause("boom")).toBe("boom");
	});
});
