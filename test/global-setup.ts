import { NATS_URL, natsAnswers } from "./helpers/nats";
import { postgresAnswers, TEST_DATABASE_URL } from "./helpers/postgres";

export default async function globalSetup(): Promise<void> {
	const nats = await natsAnswers();
	if (!nats && process.env.REQUIRE_NATS === "1") {
		throw new Error(`No NATS server answers at ${NATS_URL}, and REQUIRE_NATS=1`);
	}
	process.env.NATS_AVAILABLE = nats ? "1" : "0";
	const pg = await postgresAnswers();
	if (!pg && process.env.REQUIRE_POSTGRES === "1") {
		throw new Error(`No PostgreSQL answers at ${TEST_DATABASE_URL}, and REQUIRE_POSTGRES=1`);
	}
	process.env.POSTGRES_AVAILABLE = pg ? "1" : "0";
}
