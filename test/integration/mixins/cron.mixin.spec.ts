/**
 * The cron mixin on a real broker: jobs start with the service, stop with it, can be switched off,
 * and never overlap themselves.
 */
import type { Service, ServiceBroker } from "moleculer";
import CronMixin, { type CronOwner } from "../../../mixins/cron.mixin";
import { createTestBroker } from "../../helpers/broker";
import { setTimeout as sleep } from "node:timers/promises";

describe("cron mixin", () => {
	let broker: ServiceBroker;

	beforeEach(() => {
		broker = createTestBroker();
	});

	afterEach(async () => {
		await broker.stop();
	});

	it("skips a tick while the previous run of the job is still going", async () => {
		const runs: number[] = [];
		const service = broker.createService({
			name: "slow",
			mixins: [CronMixin],
			crons: [
				{
					name: "every-second",
					cronTime: "* * * * * *",
					async onTick() {
						runs.push(Date.now());
						await sleep(2500);
					}
				}
			]
		}) as Service & CronOwner;
		const warn = jest.spyOn(service.logger, "warn");
		await broker.start();
		while (runs.length === 0) await sleep(20);
		// Ticks came one and two seconds into the run: both skipped.
		await sleep(2200);
		expect(runs).toHaveLength(1);
		expect(
			warn.mock.calls.filter(args => String(args[0]).includes("tick skipped"))
		).toHaveLength(2);
		// The tick after the run ended starts the next one.
		await sleep(1300);
		expect(runs).toHaveLength(2);
	}, 10_000);

	it("does not start a disabled job, and stops jobs with the service", async () => {
		let ticks = 0;
		const service = broker.createService({
			name: "switchable",
			mixins: [CronMixin],
			settings: { on: false },
			crons: [
				{
					name: "off",
					cronTime: "* * * * * *",
					enabled(this: Service) {
						return (this.settings as { on: boolean }).on;
					},
					onTick: () => ticks++
				},
				{ name: "on", cronTime: "* * * * * *", onTick: () => ticks++ }
			]
		}) as Service & CronOwner;
		await broker.start();
		expect(service.getJob("off")).toBeUndefined();
		expect(service.getJob("on")).toBeDefined();
		await broker.stop();
		const after = ticks;
		await sleep(1200);
		expect(ticks).toBe(after);
		expect(service.getJob("on")).toBeUndefined();
		broker = createTestBroker();
	}, 10_000);
});
