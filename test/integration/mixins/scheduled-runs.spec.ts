/**
 * The db mixin's claimScheduledRun on each store: on a shared store (PostgreSQL, MongoDB) one claim
 * of a (job, scheduled time) wins however many nodes ask at once; the embedded store, which one node
 * owns, always runs.
 */
import TokensService from "../../../services/tokens/tokens.service";
import type { StoreOwner } from "../../../mixins/db.mixin";
import { startServiceOnStore, storeKinds, type ServiceOnStore } from "../../helpers/stores";

type Claimer = StoreOwner<unknown>;

describe.each(storeKinds("the scheduled-run claims"))("scheduled runs on %s", kind => {
	let started: ServiceOnStore<Claimer>;

	beforeAll(async () => {
		started = await startServiceOnStore<Claimer>(kind, TokensService, "tokens", {
			alsoEmpty: ["scheduled_runs"]
		});
	});
	afterAll(() => started?.stop());

	it(
		kind === "nedb"
			? "always runs: one node owns the embedded store"
			: "gives each scheduled time to exactly one of 20 concurrent claims",
		async () => {
			const at = new Date(Date.UTC(2026, 11, 2, 0, 0, 0));
			const claims = await Promise.all(
				Array.from({ length: 20 }, () => started.service.claimScheduledRun("cleanup", at))
			);
			expect(claims.filter(Boolean)).toHaveLength(kind === "nedb" ? 20 : 1);
			const next = new Date(at.getTime() + 86_400_000);
			expect(await started.service.claimScheduledRun("cleanup", next)).toBe(true);
			expect(await started.service.claimScheduledRun("cleanup", next)).toBe(kind === "nedb");
		}
	);
});
