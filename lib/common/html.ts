/** HTML escaping for the pages and the mails: one character set for both. */
const ESCAPES: Record<string, string> = {
	"&": "&amp;",
	"<": "&lt;",
	">": "&gt;",
	'"': "&quot;",
	"'": "&#39;",
	"`": "&#96;"
};

/** Text safe inside an element or a quoted attribute. */
export function escapeHtml(value: unknown): string {
	return String(value ?? "").replace(/[&<>"'`]/g, c => ESCAPES[c]);
}
