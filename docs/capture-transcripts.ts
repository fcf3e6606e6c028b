// npm run docs:transcripts: fills the "What you should see" blocks of the
// lesson pages with a real run of each command, against a fresh local
// rehearsal (prefix demo), and removes the rehearsal afterwards.
// Each `<!-- transcript: CMD -->` marker is followed by the output of CMD;
// lesson 07's dashboard picture lands in docs/lessons/pictures.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const pages = join(root, "docs", "lessons");
const env = {
  ...process.env,
  PREFIX: "demo",
  CI: "true",
  NO_COLOR: "1",
  REGION: undefined,
  AWS_ENDPOINT_URL: undefined,
  // Lesson 07 draws its dashboard here, relative to the root, so the page shows the picture its transcript names.
  LAB_PICTURES_DIR: "docs/lessons/pictures",
};
const MARKER = /<!-- transcript: (.+?) -->\n(?:\n```text\n[\s\S]*?\n```\n)?/g;

function capture(command: string): string {
  // Both streams through one pipe, so the transcript keeps their order.
  const r = spawnSync("bash", ["-c", `${command} 2>&1`], { cwd: root, env, encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`\`${command}\` exited ${r.status}:\n${r.stdout}`);
  return r.stdout.replace(/\s+$/, "");
}

spawnSync("bash", ["-c", "bin/teardown"], { cwd: root, env, stdio: "inherit" });
for (const page of readdirSync(pages)
  .filter((f) => f.endsWith(".md"))
  .sort()) {
  const file = join(pages, page);
  const text = readFileSync(file, "utf8");
  const filled = text.replace(MARKER, (_m, command: string) => {
    process.stderr.write(`[transcripts] ${page}: ${command}\n`);
    return `<!-- transcript: ${command} -->\n\n\`\`\`text\n$ ${command}\n${capture(command)}\n\`\`\`\n`;
  });
  writeFileSync(file, filled);
}
