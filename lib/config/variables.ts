/**
 * Every environment variable the project reads: the one registry from which .env.example and
 * docs/configuration.md are generated (`npm run docs:config`), and against which a test holds the
 * code (a variable read anywhere but not listed here fails it). `example` is the line's value in
 * .env.example; `about` its comment, shared by the variables that follow it without one of their own.
 */
export interface EnvVariable {
	name: string;
	example: string;
	about: string[];
}

export interface EnvGroup {
	title: string;
	variables: EnvVariable[];
}

export const ENV_HEADER = [
	"Every variable the project reads, with its meaning and default. Copy to .env and export it",
	"(e.g. `set -a; . ./.env; set +a`) or pass the values through your orchestrator."
];

export const ENV_GROUPS: EnvGroup[] = [
	{
		title: "Moleculer (moleculer-runner conventions)",
		variables: [
			{
				name: "SERVICES",
				example: "",
				about: [
					"Services this node runs, comma-separated (tokens, auth, mail, api, ...). Default: all of them."
				]
			},
			{
				name: "TRANSPORTER",
				example: "",
				about: [
					"Transporter between nodes, e.g. nats://127.0.0.1:4222. Default: none (one process)."
				]
			},
			{
				name: "NATS_BATCH_WRITES",
				example: "true",
				about: [
					"NATS packets of one event-loop turn go out in one socket write; false: each at once. Default: true."
				]
			},
			{
				name: "NAMESPACE",
				example: "",
				about: ["Isolates clusters that share a transporter. Default: empty."]
			},
			{
				name: "NODEID",
				example: "",
				about: ["This node's id. Default: host name and process id."]
			},
			{
				name: "LOGLEVEL",
				example: "info",
				about: ["Log level: fatal, error, warn, info, debug, trace. Default: info."]
			},
			{
				name: "REQUEST_TIMEOUT",
				example: "10000",
				about: ["Milliseconds before a call between services fails. Default: 10000."]
			},
			{
				name: "HEARTBEAT_INTERVAL",
				example: "5",
				about: [
					"Seconds between heartbeats / before a silent node is dropped. Defaults: 5 / 15."
				]
			},
			{
				name: "HEARTBEAT_TIMEOUT",
				example: "15",
				about: []
			},
			{
				name: "GATEWAY_DRAIN_DELAY",
				example: "5",
				about: [
					"Seconds a stopping gateway answers /ready with 503 while it still serves, so a load balancer",
					"stops sending first. Default: 5 with a TRANSPORTER (a cluster), else 0."
				]
			},
			{
				name: "NODE_ENV",
				example: "development",
				about: ["production makes TOKEN_SALT (and other secrets) mandatory."]
			}
		]
	},
	{
		title: "Storage",
		variables: [
			{
				name: "DATA_DIR",
				example: "./data",
				about: [
					"Folder of the embedded store's files (and development secrets). Default: ./data"
				]
			},
			{
				name: "NO_COLOR",
				example: "",
				about: [
					"Set to anything: log lines without colours (as under a process manager). Default: coloured."
				]
			},
			{
				name: "SERVICEDIR",
				example: "",
				about: [
					"Folder moleculer-runner loads services from. Default: dist/services (the compiled ones)."
				]
			},
			{
				name: "UV_THREADPOOL_SIZE",
				example: "8",
				about: [
					"libuv's thread pool (scrypt and file writes run there): leave threads for the store beside",
					"the password checks. Default: 8."
				]
			},
			{
				name: "DATABASE_URL",
				example: "",
				about: [
					"PostgreSQL connection URL (postgres://user:pass@host:5432/db); when set, every storing service",
					"(tokens, auth, links, pools) keeps its data there and several nodes of each may run. Default: unset."
				]
			},
			{
				name: "DATABASE_SCHEMA",
				example: "",
				about: ["Schema for the tables (created and migrated at start). Default: public."]
			},
			{
				name: "DATABASE_POOL_SIZE",
				example: "10",
				about: [
					"Connections per process to PostgreSQL (shared by the services in it). Default: 10."
				]
			},
			{
				name: "MONGO_URI",
				example: "",
				about: [
					"MongoDB connection string (MongoDB <= 6.0); used when DATABASE_URL is unset. Default: unset."
				]
			}
		]
	},
	{
		title: "tokens",
		variables: [
			{
				name: "TOKEN_SALT",
				example: "",
				about: [
					"HMAC key for stored tokens: at least 32 random characters (openssl rand -base64 48).",
					"Required when NODE_ENV=production; in development one is created under DATA_DIR."
				]
			},
			{
				name: "TOKEN_SALT_PREVIOUS",
				example: "",
				about: [
					"Previous salts, comma-separated: tokens hashed with them keep working until they expire."
				]
			},
			{
				name: "TOKENS_TOUCH_INTERVAL",
				example: "60",
				about: [
					'"last used" is written at most once per this long per token (seconds or 30s/15m/1h). Default: 60.'
				]
			},
			{
				name: "TOKENS_NODE_FAILURE_BURST",
				example: "10000",
				about: [
					"Failed check/consume lookups allowed per calling node that names no end client: a burst, then",
					"so many per second (429 TOO_MANY_FAILURES beyond). Defaults: 10000 / 200."
				]
			},
			{
				name: "TOKENS_NODE_FAILURES_PER_SECOND",
				example: "200",
				about: []
			},
			{
				name: "TOKENS_CLEANUP_CRON",
				example: "0 0 * * *",
				about: [
					"Cleanup job: cron expression (five fields), time zone, and whether this node takes part. On",
					"PostgreSQL every node schedules it and one does each run; false is an off switch."
				]
			},
			{
				name: "TOKENS_CLEANUP_TZ",
				example: "UTC",
				about: []
			},
			{
				name: "TOKENS_CLEANUP_ENABLED",
				example: "true",
				about: []
			}
		]
	},
	{
		title: "links (one-time action links)",
		variables: [
			{
				name: "LINKS_ALLOWED_ACTIONS",
				example: "",
				about: [
					"Actions a link may call, comma-separated full names (e.g. newsletter.subscribe,orders.confirm).",
					"No wildcards; links.* and $node.* are refused. Default: none (links.create refuses every action)."
				]
			},
			{
				name: "LINKS_DEFAULT_VALIDITY",
				example: "7d",
				about: [
					"Lifetime of a link created without validUntil/expiry (seconds or 30s/15m/12h/7d). Default: 7d."
				]
			},
			{
				name: "LINKS_LOCK_TIMEOUT",
				example: "10",
				about: [
					"Seconds a multi-use link stays locked after each redeem (0: no lock). Default: 10."
				]
			},
			{
				name: "LINKS_CLEANUP_CRON",
				example: "15 0 * * *",
				about: [
					"Job removing expired links: cron expression (five fields), time zone, whether it runs on this node."
				]
			},
			{
				name: "LINKS_CLEANUP_TZ",
				example: "UTC",
				about: []
			},
			{
				name: "LINKS_CLEANUP_ENABLED",
				example: "true",
				about: []
			}
		]
	},
	{
		title: "pools (leased token pools)",
		variables: [
			{
				name: "POOLS_DEFAULT_SIZE",
				example: "10",
				about: [
					"Settings of a pool never configured with pools.configure: most tokens it may hold (1-100000),",
					"lease time (seconds or 30s/15m/1h), token lifetime (empty or 0: tokens never expire)."
				]
			},
			{
				name: "POOLS_DEFAULT_LEASE",
				example: "60",
				about: []
			},
			{
				name: "POOLS_DEFAULT_TOKEN_TTL",
				example: "",
				about: []
			}
		]
	},
	{
		title: "auth (accounts, sessions, API keys)",
		variables: [
			{
				name: "PUBLIC_URL",
				example: "http://localhost:3000",
				about: [
					"Base of the links in mails: ${PUBLIC_URL}/verify-email, /magic-link, /reset-password. Default:",
					"http://localhost:3000 (shared with the links service)."
				]
			},
			{
				name: "JWT_SECRET",
				example: "",
				about: [
					"HMAC key of the access tokens (JWT, HS256): at least 32 random characters (openssl rand -base64 48).",
					"Required when NODE_ENV=production; in development one is created under DATA_DIR (jwt-secret)."
				]
			},
			{
				name: "JWT_ALGORITHM",
				example: "EdDSA",
				about: [
					"How access tokens are signed: EdDSA (Ed25519; default) or ES256 with keys generated at the first",
					"start and kept in the store (sealed), published at /.well-known/jwks.json; HS256 with JWT_SECRET."
				]
			},
			{
				name: "JWT_KEY_PUBLISH_DELAY",
				example: "5m",
				about: [
					"A new signing key waits this long in the JWKS before it signs (also the JWKS's max-age), and auth",
					"nodes reload the keys this often. Defaults: 5m / 30s."
				]
			},
			{
				name: "JWT_KEY_RELOAD_INTERVAL",
				example: "30s",
				about: []
			},
			{
				name: "JWT_ISSUER",
				example: "moleculer-tokens",
				about: [
					"The access tokens' iss and aud claims. Defaults: moleculer-tokens / moleculer-tokens."
				]
			},
			{
				name: "JWT_AUDIENCE",
				example: "moleculer-tokens",
				about: []
			},
			{
				name: "JWKS_URL",
				example: "",
				about: [
					"For sibling services with the JWT verifier mixin: where to fetch the JWKS (e.g. the gateway's",
					"/.well-known/jwks.json). Default: unset, the auth.jwks action."
				]
			},
			{
				name: "ACCESS_TOKEN_TTL",
				example: "15m",
				about: [
					"Lifetimes (seconds or 30s/15m/12h/30d): access tokens (JWT) and refresh tokens. Defaults: 15m / 30d."
				]
			},
			{
				name: "REFRESH_TOKEN_TTL",
				example: "30d",
				about: []
			},
			{
				name: "REFRESH_REUSE_INTERVAL",
				example: "10",
				about: [
					"Seconds during which a just-rotated refresh token gets the same successor again (concurrent",
					"tabs, retries) instead of counting as reuse; 0 turns it off. Default: 10."
				]
			},
			{
				name: "AUTH_MAX_SESSIONS",
				example: "100",
				about: [
					"Live sessions per user: a sign-in beyond it ends the oldest. 0: no limit. Default: 100."
				]
			},
			{
				name: "AUTH_RECENT_SIGN_IN",
				example: "600",
				about: [
					"Seconds a sign-in counts as recent, for adding a second factor without the password. Default: 600."
				]
			},
			{
				name: "AUTH_RESET_REMOVES_FACTORS_WITHIN",
				example: "3d",
				about: [
					"A password reset by mailed link removes a second factor added less than this long before",
					"(0: never). Default: 3d."
				]
			},
			{
				name: "AUTH_UNCONFIRMED_TTL",
				example: "7d",
				about: [
					"An account whose address was never confirmed is removed after this long, freeing its",
					"username and address. Default: 7d."
				]
			},
			{
				name: "AUTH_HASH_CONCURRENCY",
				example: "",
				about: [
					"Password hashes (scrypt) checked at once on a node; more wait in a queue of",
					"AUTH_HASH_QUEUE, and beyond it sign-ins get 503 BUSY. Defaults: half the cores, at least 1 / 16."
				]
			},
			{
				name: "AUTH_HASH_QUEUE",
				example: "16",
				about: []
			},
			{
				name: "PASSWORD_SCRYPT_N",
				example: "32768",
				about: [
					"scrypt cost of new password hashes (N a power of two). Default: OWASP's minimum, 32768 / 8 / 1.",
					"Hashes made with a lower cost are upgraded at the next sign-in."
				]
			},
			{
				name: "PASSWORD_SCRYPT_R",
				example: "8",
				about: []
			},
			{
				name: "PASSWORD_SCRYPT_P",
				example: "1",
				about: []
			},
			{
				name: "AUTH_REQUIRE_VERIFIED_EMAIL",
				example: "true",
				about: [
					"Password sign-in only after the e-mail address was confirmed. Default: true."
				]
			},
			{
				name: "AUTH_DEFAULT_SCOPES",
				example: "",
				about: [
					"Scopes a new user gets (what their API keys may carry), comma-separated. Default: none."
				]
			},
			{
				name: "AUTH_MAX_SIGNIN_ATTEMPTS",
				example: "5",
				about: [
					"Attempt limits, per node and in memory: sign-in attempts per login, mails per e-mail address,",
					"failed attempts per client address (meta.ip from the gateway), within AUTH_ATTEMPT_WINDOW."
				]
			},
			{
				name: "AUTH_MAX_MAILS_PER_ADDRESS",
				example: "5",
				about: []
			},
			{
				name: "AUTH_MAX_FAILURES_PER_ADDRESS",
				example: "50",
				about: []
			},
			{
				name: "AUTH_ATTEMPT_WINDOW",
				example: "15m",
				about: []
			},
			{
				name: "AUTH_CODE_TTL",
				example: "5m",
				about: [
					"E-mailed codes (sign-in by code, the verification mail's code, new devices): lifetime, submissions",
					"of one code before it is dead, and submissions per address an hour (no new code refills them)."
				]
			},
			{
				name: "AUTH_CODE_ATTEMPTS",
				example: "3",
				about: []
			},
			{
				name: "AUTH_CODE_ATTEMPTS_PER_HOUR",
				example: "10",
				about: []
			},
			{
				name: "AUTH_VERIFY_NEW_DEVICES",
				example: "false",
				about: [
					"A password sign-in from a device not seen before needs a mailed code. Default: false."
				]
			},
			{
				name: "TOTP_ISSUER",
				example: "moleculer-tokens",
				about: [
					"TOTP: the issuer authenticator apps show; wrong codes per sign-in challenge; codes per account an hour."
				]
			},
			{
				name: "AUTH_TOTP_ATTEMPTS",
				example: "5",
				about: []
			},
			{
				name: "AUTH_TOTP_ATTEMPTS_PER_HOUR",
				example: "10",
				about: []
			},
			{
				name: "AUTH_CLEANUP_CRON",
				example: "30 0 * * *",
				about: [
					"Job deleting refresh-token families whose last token expired: cron (five fields), time zone, on/off."
				]
			},
			{
				name: "AUTH_CLEANUP_TZ",
				example: "UTC",
				about: []
			},
			{
				name: "AUTH_CLEANUP_ENABLED",
				example: "true",
				about: []
			}
		]
	},
	{
		title: "mail",
		variables: [
			{
				name: "SMTP_URL",
				example: "",
				about: [
					"SMTP server, e.g. smtp://127.0.0.1:2525 or smtps://user:pass@smtp.example.com:465. Default: unset,",
					"and each message is written as an .eml file to MAIL_OUTBOX_DIR instead."
				]
			},
			{
				name: "MAIL_OUTBOX_DIR",
				example: "",
				about: ["Folder of those .eml files. Default: <DATA_DIR>/outbox"]
			},
			{
				name: "MAIL_FROM",
				example: "no-reply@localhost",
				about: ["The From: address. Default: no-reply@localhost"]
			},
			{
				name: "MAIL_QUEUE_URL",
				example: "",
				about: [
					"Durable hand-over from auth to mail through NATS JetStream (README, Operating). Set on the auth",
					"and mail nodes, e.g. nats://127.0.0.1:4222. Default: unset, and auth calls mail.send directly."
				]
			},
			{
				name: "MAIL_QUEUE_SECRET",
				example: "",
				about: [
					"Seals the mails in the queue; only auth and mail hold it. Required in production when the queue",
					"is on; in development one is created in DATA_DIR."
				]
			},
			{
				name: "MAIL_QUEUE_STREAM",
				example: "MTK_MAIL",
				about: [
					"Stream name (its dead letters: <name>_DEAD, sent ids: <name>_SENT). Default: MTK_MAIL"
				]
			},
			{
				name: "MAIL_QUEUE_ACK_WAIT",
				example: "30",
				about: [
					"Seconds a mail node may hold a mail unacknowledged before it is redelivered. Default: 30"
				]
			},
			{
				name: "MAIL_QUEUE_MAX_ATTEMPTS",
				example: "5",
				about: [
					"Deliveries before a mail becomes a dead letter, and seconds before the first retry (doubling)."
				]
			},
			{
				name: "MAIL_QUEUE_RETRY_DELAY",
				example: "5",
				about: []
			}
		]
	},
	{
		title: "api (REST gateway)",
		variables: [
			{
				name: "PORT",
				example: "3000",
				about: ["Port and address the gateway listens on. Defaults: 3000, 0.0.0.0."]
			},
			{
				name: "IP",
				example: "0.0.0.0",
				about: []
			},
			{
				name: "ADMIN_TOKEN",
				example: "",
				about: [
					"(PUBLIC_URL above is also the `servers` URL of the gateway's OpenAPI description.)",
					"Admin credential for /api/tokens and /api/pools (as `Authorization: Bearer …`); at least 32",
					"characters in production (openssl rand -base64 48). Default: unset, and only API keys with the",
					'"admin" scope are accepted there.'
				]
			},
			{
				name: "TRUST_PROXY",
				example: "",
				about: [
					"Proxies in front of the gateway, for the client address (rate limits, auth's per-address limits):",
					"a hop count (e.g. 1 for one load balancer) or their addresses/CIDR ranges, comma-separated",
					"(e.g. 10.0.0.0/8,fd00::/8). Default: unset, X-Forwarded-For is ignored and the socket address used."
				]
			},
			{
				name: "CORS_ORIGINS",
				example: "",
				about: [
					"Browser origins allowed to call /api, comma-separated, or * for any. Default: none (same origin only)."
				]
			},
			{
				name: "BODY_LIMIT",
				example: "16kb",
				about: ["Largest JSON request body (bytes, or 16kb / 1mb). Default: 16kb."]
			},
			{
				name: "RATE_LIMIT_WINDOW",
				example: "60",
				about: [
					"Requests per client address per window (seconds or 30s/1m), per route group: public (/api/auth and",
					"the mail-link pages), user (/api/me), admin (/api/tokens, /api/pools). Defaults: 60, 30, 120, 600."
				]
			},
			{
				name: "RATE_LIMIT_PUBLIC",
				example: "30",
				about: []
			},
			{
				name: "RATE_LIMIT_USER",
				example: "120",
				about: []
			},
			{
				name: "RATE_LIMIT_ADMIN",
				example: "600",
				about: []
			}
		]
	},
	{
		title: "operations",
		variables: [
			{
				name: "METRICS_PORT",
				example: "",
				about: [
					"Prometheus metrics on a port of their own (never the gateway's), at /metrics. Default: unset, off."
				]
			},
			{
				name: "METRICS_HOST",
				example: "127.0.0.1",
				about: [
					"Where the metrics port listens. They are unauthenticated: loopback unless you expose them on",
					"purpose (0.0.0.0 inside a private network, for a scraper). Default: 127.0.0.1."
				]
			},
			{
				name: "LOG_FORMAT",
				example: "",
				about: [
					"Log lines as JSON objects, one per line, for a log collector: json. Default: readable lines."
				]
			},
			{
				name: "TRACING_EXPORTER",
				example: "",
				about: ["Tracing: Console, Zipkin (ZIPKIN_URL) or Event. Default: unset, off."]
			},
			{
				name: "ZIPKIN_URL",
				example: "",
				about: []
			}
		]
	}
];

/** Every variable by name. */
export function allVariables(): EnvVariable[] {
	return ENV_GROUPS.flatMap(g => g.variables);
}

/** A value as a shell line needs it: quoted when it holds a space or a shell character. */
function shellValue(value: string): string {
	return /[\s*$`"'\\;&|<>()]/.test(value) ? `"${value.replace(/(["\\$`])/g, "\\$1")}"` : value;
}

/** .env.example, as committed: every group, each variable with its comment and example value. */
export function renderEnvExample(): string {
	const out = ENV_HEADER.map(line => `# ${line}`);
	for (const group of ENV_GROUPS) {
		out.push("", `# --- ${group.title} ---`);
		for (const variable of group.variables) {
			for (const line of variable.about) out.push(line === "" ? "#" : `# ${line}`);
			out.push(`${variable.name}=${shellValue(variable.example)}`);
		}
	}
	return `${out.join("\n")}\n`;
}

/** docs/configuration.md: the same, as a reference page with a table per group. */
export function renderConfigurationDoc(): string {
	const cell = (text: string) => text.replace(/\|/g, "\\|");
	const out = [
		"# Configuration",
		"",
		"Every environment variable the project reads, generated from `lib/config/variables.ts`",
		"(`npm run docs:config`), as is [`.env.example`](../.env.example); a test fails when the code",
		"reads a variable that is not listed there, or when this page or `.env.example` is out of date."
	];
	for (const group of ENV_GROUPS) {
		out.push(
			"",
			`## ${group.title}`,
			"",
			"| variable | example | meaning |",
			"| --- | --- | --- |"
		);
		let about: string[] = [];
		for (const variable of group.variables) {
			if (variable.about.length > 0) about = variable.about;
			const example = variable.example === "" ? "" : `\`${cell(variable.example)}\``;
			out.push(`| \`${variable.name}\` | ${example} | ${cell(about.join(" "))} |`);
		}
	}
	return `${out.join("\n")}\n`;
}
