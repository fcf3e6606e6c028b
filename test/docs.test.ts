// The docs cannot rot: every `sh` block in the lesson pages is run, in lesson
// order, against the local rehearsal (this file's emulator), and must succeed;
// every "What you should see" has a captured transcript of a real run.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import { removeContainers } from "../setup/lib/local/engine/client.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import { STEPS } from "../setup/steps.ts";
import { readNumbers, renderAll } from "../docs/numbers.ts";

const fixture = useEmulator();
const root = join(import.meta.dirname, "..");
const pagesDir = join(root, "docs", "lessons");
const pages = readdirSync(pagesDir)
  .filter((f) => f.endsWith(".md"))
  .sort();
const PREFIX = "docs-room";

afterAll(async () => {
  await removeContainers((await findRehearsal(PREFIX)).map((c) => c.id));
});

function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => (m[1] ?? "").trim());
}

describe("the lesson pages", () => {
  it("are the registry's lessons, each with commands and a transcript of what to expect", () => {
    expect(pages.map((p) => `docs/lessons/${p}`)).toEqual(STEPS.map((s) => s.lessonPage));
    for (const page of pages) {
      const text = readFileSync(join(pagesDir, page), "utf8");
      expect(shellBlocks(text).length, page).toBeGreaterThan(0);
      const transcripts = [...text.matchAll(/<!-- transcript: (.+?) -->\n\n```text\n\$ (.+)\n([\s\S]*?)\n```/g)];
      expect(transcripts.length, `${page}: run npm run docs:transcripts`).toBeGreaterThan(0);
      for (const t of transcripts) {
        expect(t[2], page).toBe(t[1]);
        expect((t[3] ?? "").length, `${page}: empty transcript for ${t[1]}`).toBeGreaterThan(20);
      }
      expect(text, `${page}: says that ids, ports and times differ`).toContain(
        "## What you should see\n\nA run of your own shows other ports, ids, versions and times",
      );
      for (const heading of [
        "## Do it",
        "## What you should see",
        "## Check it",
        "## When it fails",
        "## Going further",
      ]) {
        expect(text, `${page} lacks ${heading}`).toContain(heading);
      }
    }
  });

  it("open with a card and end with a clean-up rendered from docs/numbers.json (as is the instructor's table), and link each glossary term's first use", async () => {
    const numbers = await readNumbers();
    for (const [file, text] of await renderAll(numbers)) {
      expect(readFileSync(file, "utf8"), `${file} differs from docs/numbers.json: run npm run docs:render`).toBe(text);
    }
    for (const page of pages) {
      const text = readFileSync(join(pagesDir, page), "utf8");
      expect(text.indexOf("<!-- numbers:card -->"), page).toBeLessThan(text.indexOf("## Do it"));
      expect(text.trimEnd().endsWith("<!-- /numbers:cleanup -->"), `${page} ends with its clean-up`).toBe(true);
    }
  });

  it("agree with the README's step table on AWS times (both read docs/numbers.json)", async () => {
    const numbers = await readNumbers();
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const rows = [...readme.matchAll(/^\| (0\d|teardown)[^|]*\|[^|]*\| ([^|]+?) +\|$/gm)];
    expect(rows.map((r) => r[1])).toEqual([...STEPS.map((s) => s.id), "teardown"]);
    for (const [, id, time] of rows)
      expect(time, `README step ${id}`).toMatch(new RegExp(`^${numbers.aws[id!]!.run}\\b`));
  });

  it.each(
    pages.flatMap((page) => shellBlocks(readFileSync(join(pagesDir, page), "utf8")).map((block) => [page, block])),
  )(
    "%s: `%s` runs",
    (_page, block) => {
      const r = spawnSync("bash", ["-euo", "pipefail", "-c", block], {
        cwd: root,
        encoding: "utf8",
        timeout: 300_000,
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: fixture.emulator.endpoint,
          PREFIX,
          REGION: undefined,
          CI: "true",
          NO_COLOR: "1",
        },
      });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    },
    300_000,
  );
});
