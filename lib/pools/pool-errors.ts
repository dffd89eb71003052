/** The errors `pools` answers with (types in pool-error-types.json): one place for each. */
import { Errors } from "moleculer";

const clientError = (message: string, code: number, type: string) =>
	new Errors.MoleculerClientError(message, code, type);

export const noSuchPoolToken = () => clientError("No such token in this pool", 404, "NOT_FOUND");
export const poolFull = () => clientError("The pool is full", 403, "POOL_FULL");
export const noTokenAvailable = () =>
	clientError("No token is available in this pool", 404, "NO_TOKEN_AVAILABLE");
export const notHolder = (leaseMayHaveEnded: boolean) =>
	clientError(
		leaseMayHaveEnded
			? "This client does not hold this token (or its lease has ended)"
			: "This client does not hold this token",
		403,
		"NOT_HOLDER"
	);
export const notAssigned = () => clientError("This token is not assigned", 403, "NOT_ASSIGNED");
/** Retryable: another request is changing the pool right now. */
export const poolBusy = () =>
	new Errors.MoleculerError("The pool is busy; try again", 503, "POOL_BUSY", null);
