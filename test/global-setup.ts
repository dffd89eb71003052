import { NATS_URL, natsAnswers } from "./helpers/nats";

export default async function globalSetup(): Promise<void> {
	const available = await natsAnswers();
	if (!available && process.env.REQUIRE_NATS === "1") {
		throw new Error(`No NATS server answers at ${NATS_URL}, and REQUIRE_NATS=1`);
	}
	process.env.NATS_AVAILABLE = available ? "1" : "0";
}
