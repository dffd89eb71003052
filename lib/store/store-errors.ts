/**
 * What a caller sees when storage fails. A store that cannot be reached or written right now (disk
 * full, data file gone, MongoDB down or electing a primary) answers a retryable 503
 * `STORE_UNAVAILABLE`: the caller may try again later, and the circuit breaker (code >= 500) counts
 * it. Any other unexpected error becomes a bare 500 `INTERNAL_ERROR`. Neither carries the driver's
 * message, code or file path; the original error is for the node's log (`describeCause`).
 *
 * MongoDB driver errors carry no HTTP status, so they are recognised by class name (stable across
 * driver versions 3 to 6), by server error code and by error label. PostgreSQL outages are the
 * `postgres` client's connection codes, the socket's, and SQLSTATE classes 08 (connection
 * exception), 53 (insufficient resources) and 57P (server shutting down or starting).
 */
import { Errors } from "moleculer";

export const STORE_UNAVAILABLE = "STORE_UNAVAILABLE";
export const INTERNAL_ERROR = "INTERNAL_ERROR";
export const INVALID_DATA = "INVALID_DATA";

/** File-system codes meaning the embedded store's file cannot be written (or read) now. */
const UNAVAILABLE_FS_CODES = new Set([
	"ENOSPC", // disk full
	"EDQUOT", // quota exceeded
	"EIO",
	"EROFS", // file system remounted read-only
	"EACCES",
	"EPERM",
	"ENOENT", // data folder removed
	"ENOTDIR",
	"EISDIR",
	"EMFILE", // too many open files
	"ENFILE",
	"EBUSY",
	"EAGAIN",
	"ESTALE" // network file system
]);

/** Codes the `postgres` client and Node's sockets give a connection that failed or went away. */
const UNAVAILABLE_CONNECTION_CODES = new Set([
	"CONNECTION_CLOSED",
	"CONNECTION_ENDED",
	"CONNECTION_DESTROYED",
	"CONNECT_TIMEOUT",
	"ECONNREFUSED",
	"ECONNRESET",
	"ETIMEDOUT",
	"EPIPE",
	"EHOSTUNREACH",
	"ENETUNREACH",
	"ENOTFOUND",
	"EAI_AGAIN"
]);

/** SQLSTATEs (by prefix) meaning "no usable server right now", not "this statement is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4])/;

/**
 * SQLSTATE class 22 (data exception: a byte sequence the encoding refuses, a value out of range, a
 * string too long...) is the caller's data, not the store failing: a 400, which no circuit breaker
 * counts. The parameter checks refuse such values first (lib/broker/text-params.middleware); this
 * is the backstop for any value they do not know of.
 */
const CALLER_DATA_SQLSTATE = /^22/;

/** True when `err` is the store refusing the caller's data (PostgreSQL's data exceptions). */
export function isCallerDataError(err: unknown): boolean {
	if (typeof err !== "object" || err === null) return false;
	const e = err as ErrorLike;
	return (
		e.name === "PostgresError" &&
		typeof e.code === "string" &&
		CALLER_DATA_SQLSTATE.test(e.code)
	);
}

/** True for PostgreSQL's integrity-constraint violations (class 23: unique, foreign key, check). */
export function isConstraintError(err: unknown): boolean {
	if (typeof err !== "object" || err === null) return false;
	const e = err as ErrorLike;
	return e.name === "PostgresError" && typeof e.code === "string" && e.code.startsWith("23");
}

/** MongoDB driver classes for "no connection / no suitable server / pool closed". */
const UNAVAILABLE_MONGO_NAMES = new Set([
	"MongoNetworkError",
	"MongoNetworkTimeoutError",
	"MongoTimeoutError",
	"MongoServerSelectionError",
	"MongoTopologyClosedError",
	"MongoNotConnectedError",
	"MongoServerClosedError",
	"MongoPoolClearedError"
]);

/**
 * Server error codes the driver itself treats as transient (its retryable-write list): host
 * unreachable or not found, network timeout, shutdown in progress, primary stepped down, time limit
 * exceeded, socket exception, not primary, interrupted at shutdown or by a replica-set change.
 */
const UNAVAILABLE_MONGO_CODES = new Set([
	6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436
]);

/** Labels the driver puts on errors a retry may cure. */
const UNAVAILABLE_MONGO_LABELS = ["RetryableWriteError", "TransientTransactionError", "ResetPool"];

/** Driver 3.x reports a closed client with a plain MongoError and one of these messages. */
const CLOSED_MONGO_MESSAGE = /topology (was )?(destroyed|closed)|pool (was )?(destroyed|closed)/i;

interface ErrorLike {
	name?: unknown;
	code?: unknown;
	message?: unknown;
	errorLabels?: unknown;
}

/** True when `err` says the store is unreachable or unwritable for now (not a bug, not bad data). */
export function isStoreUnavailable(err: unknown): boolean {
	if (typeof err !== "object" || err === null || err instanceof Errors.MoleculerError) {
		return false;
	}
	const e = err as ErrorLike;
	const name = typeof e.name === "string" ? e.name : "";
	if (typeof e.code === "string" && UNAVAILABLE_FS_CODES.has(e.code)) return true;
	if (typeof e.code === "string" && UNAVAILABLE_CONNECTION_CODES.has(e.code)) return true;
	if (name === "PostgresError" && typeof e.code === "string") {
		return UNAVAILABLE_SQLSTATE.test(e.code);
	}
	if (UNAVAILABLE_MONGO_NAMES.has(name)) return true;
	if (name.startsWith("Mongo")) {
		if (typeof e.code === "number" && UNAVAILABLE_MONGO_CODES.has(e.code)) return true;
		const labels = Array.isArray(e.errorLabels) ? e.errorLabels : [];
		if (UNAVAILABLE_MONGO_LABELS.some(label => labels.includes(label))) return true;
		if (typeof e.message === "string" && CLOSED_MONGO_MESSAGE.test(e.message)) return true;
	}
	return false;
}

/**
 * A plain MoleculerRetryableError, not a subclass: a remote caller's broker rebuilds errors by class
 * name, so this one arrives as a MoleculerRetryableError too.
 */
export function storeUnavailableError(): Errors.MoleculerRetryableError {
	return new Errors.MoleculerRetryableError(
		"The token store is unavailable; try again later.",
		503,
		STORE_UNAVAILABLE
	);
}

/**
 * The error to give the caller for `err`: moleculer's own errors (validation, client errors,
 * timeouts) unchanged, a store outage as a retryable 503, data the store refused as a 400, anything
 * else as a bare 500.
 */
export function publicError(err: unknown): Errors.MoleculerError {
	if (err instanceof Errors.MoleculerError) return err;
	if (isStoreUnavailable(err)) return storeUnavailableError();
	if (isCallerDataError(err)) {
		return new Errors.MoleculerClientError(
			"The request holds a value the store cannot keep.",
			400,
			INVALID_DATA
		);
	}
	return new Errors.MoleculerError("Internal error.", 500, INTERNAL_ERROR);
}

/** One line for the node's log: class, code and message of the original error, no stack. */
export function describeCause(err: unknown): string {
	if (typeof err !== "object" || err === null) return String(err);
	const e = err as ErrorLike;
	const name = typeof e.name === "string" ? e.name : "Error";
	const code = e.code === undefined ? "" : ` (${String(e.code)})`;
	return `${name}${code}: ${typeof e.message === "string" ? e.message : ""}`;
}
