/**
 * `npm run docs:config`: writes .env.example and docs/configuration.md from the registry of
 * environment variables (lib/config/variables.ts). Run it after adding or changing a variable; a test
 * fails while either file is out of date.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderConfigurationDoc, renderEnvExample } from "../lib/config/variables";

const root = join(__dirname, "../..");
writeFileSync(join(root, ".env.example"), renderEnvExample());
writeFileSync(join(root, "docs/configuration.md"), renderConfigurationDoc());
console.log("Wrote .env.example and docs/configuration.md.");
