/**
 * `npm run mail`: the development outbox, newest last, with each mail's links and codes decoded.
 * `npm run mail -- --last` prints only the newest mail; `--to <address>` only mails to it;
 * `--link` prints nothing but the last link (for scripts: `LINK=$(npm run -s mail -- --link)`).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { dataDirFromEnv } from "../lib/config/env";
import { readMail } from "../lib/mail/outbox";

const args = process.argv.slice(2);
const outbox = process.env.MAIL_OUTBOX_DIR || join(dataDirFromEnv(process.env), "outbox");
const to = args.includes("--to") ? args[args.indexOf("--to") + 1]?.toLowerCase() : undefined;

let files: string[] = [];
try {
	files = readdirSync(outbox)
		.filter(f => f.endsWith(".eml"))
		.sort();
} catch {
	console.log(`No outbox at ${outbox} yet: nothing was mailed (or SMTP_URL is set).`);
	process.exit(0);
}
let mails = files
	.map(f => readMail(f, readFileSync(join(outbox, f), "utf8")))
	.filter(m => to === undefined || m.to.toLowerCase().includes(to));
if (args.includes("--last")) mails = mails.slice(-1);
if (args.includes("--link")) {
	const link = mails.flatMap(m => m.links).at(-1);
	if (link) console.log(link);
	process.exit(link ? 0 : 1);
}
for (const mail of mails) {
	console.log(`— ${mail.date}  to ${mail.to}\n  ${mail.subject}`);
	for (const link of mail.links) console.log(`  link: ${link}`);
	for (const code of mail.codes) console.log(`  code: ${code}`);
}
if (mails.length === 0) console.log(`No mail in ${outbox}${to ? ` to ${to}` : ""}.`);
