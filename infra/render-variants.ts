// The template variants the lessons ship, written to .cache/infra for
// cfn-lint (npm run lint:cfn): lesson 08 turns service.yaml into a canary.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canaryServiceTemplate } from "../setup/lib/changes/canary-template.ts";

const root = join(import.meta.dirname, "..");
const out = join(root, ".cache", "infra");
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, "service-canary.yaml"),
  canaryServiceTemplate(readFileSync(join(root, "infra", "service.yaml"), "utf8")),
);
