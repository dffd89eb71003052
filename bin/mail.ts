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

function mailsInOutbox() {
	const files = readdirSync(outbox)
		.filter(f => f.endsWith(".eml"))
		.sort();
	return files
		.map(f => readMail(f, readFileSync(join(outbox, f), "utf8")))
		.filter(m => to === undefined || m.to.toLowerCase().includes(to));
}

let mails: ReturnType<typeof mailsInOutbox> = [];
// A mail is written just after the request that sends it has answered: wait for one a moment.
for (let waited = 0; ; waited += 100) {
	try {
		mails = mailsInOutbox();
	} catch {
		mails = [];
	}
	if (mails.length > 0 || waited >= 3000) break;
	Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
}
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
if (mails.length === 0) console.log(`No mail in ${outbox}${to ? ` to ${to}` : ""} yet.`);
