/**
 * Reading the development outbox (the .eml files `mail` writes when there is no SMTP_URL): each
 * mail's date, recipient, subject and text, decoded (quoted-printable or base64, soft line breaks
 * joined), with the links and codes in it. `npm run mail` prints them, so a walkthrough never
 * greps quoted-printable files, where a soft line break can split a token.
 */
export interface OutboxMail {
	file: string;
	date: string;
	to: string;
	subject: string;
	text: string;
	links: string[];
	codes: string[];
}

interface Part {
	headers: Map<string, string>;
	body: string;
}

/** Headers (unfolded, names lower-cased) and body of one MIME entity. */
function parsePart(raw: string): Part {
	const normalised = raw.replace(/\r\n/g, "\n");
	const split = normalised.indexOf("\n\n");
	const head = split === -1 ? normalised : normalised.slice(0, split);
	const body = split === -1 ? "" : normalised.slice(split + 2);
	const headers = new Map<string, string>();
	for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
		const colon = line.indexOf(":");
		if (colon > 0)
			headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
	}
	return { headers, body };
}

export function decodeQuotedPrintable(text: string): string {
	const joined = text.replace(/=\r?\n/g, "");
	const bytes: number[] = [];
	for (let i = 0; i < joined.length; i++) {
		const hex = joined.slice(i + 1, i + 3);
		if (joined[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
			bytes.push(parseInt(hex, 16));
			i += 2;
		} else {
			bytes.push(...Buffer.from(joined[i], "utf8"));
		}
	}
	return Buffer.from(bytes).toString("utf8");
}

function decodeBody(part: Part): string {
	const encoding = (part.headers.get("content-transfer-encoding") ?? "").toLowerCase();
	if (encoding === "quoted-printable") return decodeQuotedPrintable(part.body);
	if (encoding === "base64") return Buffer.from(part.body, "base64").toString("utf8");
	return part.body;
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=) in a header. */
function decodeHeader(value: string): string {
	return value.replace(
		/=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*/g,
		(_, _charset, kind: string, data: string) =>
			kind.toUpperCase() === "B"
				? Buffer.from(data, "base64").toString("utf8")
				: decodeQuotedPrintable(data.replace(/_/g, " "))
	);
}

/** The text/plain part of a message (or its only part), decoded. */
function plainText(message: Part): string {
	const type = message.headers.get("content-type") ?? "text/plain";
	const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
	if (!boundary) return decodeBody(message);
	const parts = message.body
		.split(`--${boundary}`)
		.slice(1, -1)
		.map(p => parsePart(p.replace(/^\n/, "")));
	for (const part of parts) {
		const partType = part.headers.get("content-type") ?? "text/plain";
		if (/^multipart\//i.test(partType)) return plainText(part);
		if (/^text\/plain/i.test(partType)) return decodeBody(part);
	}
	return parts[0] ? decodeBody(parts[0]) : "";
}

export function readMail(file: string, raw: string): OutboxMail {
	const message = parsePart(raw);
	const text = plainText(message).trim();
	return {
		file,
		date: message.headers.get("date") ?? "",
		to: decodeHeader(message.headers.get("to") ?? ""),
		subject: decodeHeader(message.headers.get("subject") ?? ""),
		text,
		links: [...new Set(text.match(/https?:\/\/[^\s<>"]+/g) ?? [])],
		// "Your code: 123456", "Or type this code where you signed up: 123456 (…)".
		codes: [
			...new Set([...text.matchAll(/\bcode\b[^:\n]{0,40}:\s*(\d{6,8})\b/gi)].map(m => m[1]))
		]
	};
}
