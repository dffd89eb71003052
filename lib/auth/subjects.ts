/**
 * Subjects of the service API (auth.issueTokens): users another service keeps, known here only by
 * the name that service gives them. Their sessions and tokens are owned by `subject:<name>`, a
 * namespace no user id of ours is in, so a subject's access token never resolves to a user (the
 * gateway refuses it) and a subject can never be handed a user's sessions.
 */
const PREFIX = "subject:";

/** The owner id of a subject's sessions and refresh tokens. */
export function subjectHolder(subject: string): string {
	return `${PREFIX}${subject}`;
}

export function isSubjectHolder(holder: string): boolean {
	return holder.startsWith(PREFIX);
}

/** The subject's own name, or null for a user's id. */
export function subjectOf(holder: string): string | null {
	return isSubjectHolder(holder) ? holder.slice(PREFIX.length) : null;
}
