/** The 422 moleculer's validator gives, for a check of our own on one field (never its value). */
import { Errors } from "moleculer";

export function fieldError(
	field: string,
	type: string,
	message: string,
	summary = "Parameters validation error!"
): Errors.ValidationError {
	return new Errors.ValidationError(summary, "VALIDATION_ERROR", [
		{ type, field, message }
	] as never);
}
