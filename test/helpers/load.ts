/**
 * Load for the end-to-end suites that stop nodes under traffic: `clients` loops, each calling
 * `once` until stopped and keeping what it returns (a sample of one call).
 */
export interface Load<S> {
	samples: S[];
	stop(): Promise<void>;
}

export function loadLoops<S>(clients: number, once: () => Promise<S>): Load<S> {
	const samples: S[] = [];
	let running = true;
	const loops = Array.from({ length: clients }, async () => {
		while (running) samples.push(await once());
	});
	return {
		samples,
		async stop() {
			running = false;
			await Promise.all(loops);
		}
	};
}
