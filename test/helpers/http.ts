/** HTTP calls of the REST suites (fetch), JSON or form bodies, with the answer parsed. */

export interface Answer {
	status: number;
	headers: Headers;
	/** Parsed when the answer is JSON, else the text. */
	body: unknown;
	text: string;
	/** How long the answer took, in ms. */
	ms: number;
}

/** fetch with a JSON (`json`) or form (`form`) body; answers status, headers and the parsed body. */
export async function request(
	url: string,
	init: {
		method?: string;
		headers?: Record<string, string>;
		json?: unknown;
		form?: Record<string, string>;
		body?: string;
	} = {}
): Promise<Answer> {
	const headers: Record<string, string> = { ...init.headers };
	let body = init.body;
	if (init.json !== undefined) {
		headers["content-type"] ??= "application/json";
		body = JSON.stringify(init.json);
	} else if (init.form) {
		headers["content-type"] ??= "application/x-www-form-urlencoded";
		body = new URLSearchParams(init.form).toString();
	}
	const started = Date.now();
	const res = await fetch(url, { method: init.method ?? "GET", headers, body });
	const text = await res.text();
	const ms = Date.now() - started;
	let parsed: unknown = text;
	if (text !== "" && (res.headers.get("content-type") ?? "").includes("application/json")) {
		parsed = JSON.parse(text);
	}
	return { status: res.status, headers: res.headers, body: parsed, text, ms };
}

/** A JSON POST: what most calls of the REST suites are. */
export function postJson(
	url: string,
	json: unknown,
	headers: Record<string, string> = {}
): Promise<Answer> {
	return request(url, { method: "POST", headers, json });
}

/** The value of the session cookie `name` an answer sets, with or without its `__Host-` prefix. */
export function setCookieValue(headers: Headers, name: string): string | undefined {
	return headers
		.getSetCookie()
		.find(c => c.replace(/^__Host-/, "").startsWith(`${name}=`))
		?.split(";")[0]
		.split("=")[1];
}
