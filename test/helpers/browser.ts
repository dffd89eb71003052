/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser). CI installs the
 * `chromium` package and sets REQUIRE_BROWSER=1; elsewhere the browser suites skip without it.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { describeRequiring } from "./requirements";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Where suites save screenshots (CI keeps the folder as an artefact). */
export const SCREENSHOTS = join(__dirname, "..", "..", ".ci", "screenshots");

export function describeWithBrowser(name: string, body: () => void): void {
	describeRequiring(
		{
			available: existsSync(CHROMIUM),
			missing: `no Chromium at ${CHROMIUM} (apt-get install chromium)`,
			requiredBy: "REQUIRE_BROWSER"
		},
		name,
		body
	);
}

/**
 * Headless, with the background traffic this closed network refuses turned off; playwright gives
 * each launch a fresh profile.
 */
export async function launchBrowser(): Promise<Browser> {
	mkdirSync(SCREENSHOTS, { recursive: true });
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: [
			"--no-sandbox",
			"--disable-gpu",
			"--disable-quic",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync"
		]
	});
}
