/**
 * `npm run docs:generate`: writes .env.example and docs/configuration.md from the registry of
 * environment variables (lib/config/variables.ts), and docs/errors.md from the error catalogue
 * (lib/http/error-catalogue.ts), and docs/tables.md from the migrations (bin/table-list.ts). Tests fail while any of them is out of date.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderConfigurationDoc, renderEnvExample } from "../lib/config/variables";
import { renderErrorCatalogue } from "../lib/http/error-catalogue";
import { renderTableList } from "./table-list";

const root = join(__dirname, "../..");
writeFileSync(join(root, ".env.example"), renderEnvExample());
writeFileSync(join(root, "docs/configuration.md"), renderConfigurationDoc());
writeFileSync(join(root, "docs/errors.md"), renderErrorCatalogue());
writeFileSync(join(root, "docs/tables.md"), renderTableList());
console.log("Wrote .env.example, docs/configuration.md, docs/errors.md and docs/tables.md.");
