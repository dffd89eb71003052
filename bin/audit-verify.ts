/**
 * `npm run audit:verify`: walks every audit chain in the configured store (DATABASE_URL, else the
 * embedded store under DATA_DIR) and names the first changed, removed or inserted entry of each.
 * Exit code 0: every chain verifies; 1: a problem; 2: it could not run. On the embedded store, run
 * it with the service stopped (one process owns the files), or use the REPL's `audit-verify`.
 */
import { ServiceBroker } from "moleculer";
import AuditService from "../services/audit.service";
import { auditVerify } from "../lib/broker/repl-commands";

async function main(): Promise<number> {
	const broker = new ServiceBroker({ nodeID: `audit-verify-${process.pid}`, logger: false });
	// No cron here: a verification must not also run the retention job.
	broker.createService({
		...AuditService,
		settings: { ...AuditService.settings, cleanup: { enabled: false, cronTime: "0 0 * * *" } }
	});
	await broker.start();
	try {
		const report = await auditVerify(broker, line => console.log(line));
		return report.problems.length === 0 ? 0 : 1;
	} finally {
		await broker.stop();
	}
}

main().then(
	code => process.exit(code),
	(err: unknown) => {
		console.error(
			`audit:verify could not run: ${err instanceof Error ? err.message : String(err)}`
		);
		process.exit(2);
	}
);
