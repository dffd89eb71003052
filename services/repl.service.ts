/**
 * The `repl` service does nothing, on purpose: it lets an operator start a node that only joins the
 * cluster, to use the REPL's commands against it (docs/operations.md, "Operating from the REPL"):
 *
 *     SERVICES=repl TRANSPORTER=nats://127.0.0.1:4222 npm run repl
 *
 * moleculer-runner loads every service of SERVICEDIR when SERVICES is empty, so "no service" has to
 * be named; this one has no actions, events or state, and does no work for the cluster. It also
 * shows up in `services`/`nodes` listings, which tells who has a console attached.
 */
import type { ServiceSchema } from "moleculer";

const ReplService: ServiceSchema = {
	name: "repl"
};

export default ReplService;
