// code/scripts/source-digest.sh on real directory trees: the digest that ties an
// image tag to the source content it was built from.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CODE } from "./build-scripts-stubs.ts";

const script = join(CODE, "scripts", "source-digest.sh");

const FILES: Record<string, string> = {
  VERSION: "s3-0123456789\n",
  Dockerfile: "FROM node\n",
  "package.json": '{"name":"lab-app"}\n',
  "src/app.ts": "export const answer = 42;\n",
  "src/log.ts": "export {};\n",
  "test/app.test.ts": "// tests\n",
  "infra/service.yaml": "Resources: {}\n",
  "docs/a file with spaces.md": "spaces\n",
  empty: "",
};

function tree(files: Record<string, string> = FILES, order: string[] = Object.keys(files)): string {
  const dir = mkdtempSync(join(tmpdir(), "lab-digest-"));
  for (const path of order) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), files[path] as string);
  }
  return dir;
}

function digest(dir: string): string {
  const r = spawnSync("sh", [script], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

describe("source-digest.sh", () => {
  it("prints 12 hex characters: sha256 of the sorted list of each file's sha256 and path", () => {
    const d = digest(tree());
    expect(d).toMatch(/^[0-9a-f]{12}$/);
    // The definition, independently: `sha256sum` lines for ./paths in byte order, hashed.
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    const list = Object.keys(FILES)
      .map((p) => `./${p}`)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((p) => `${sha(FILES[p.slice(2)] as string)}  ${p}\n`)
      .join("");
    expect(d).toBe(sha(list).slice(0, 12));
  });

  it("gives the same digest for the same tree, whatever order the files were written in and whatever their times and modes", () => {
    const a = tree();
    const b = tree(FILES, Object.keys(FILES).reverse());
    utimesSync(join(b, "src/app.ts"), new Date("2001-02-03T04:05:06Z"), new Date("2001-02-03T04:05:06Z"));
    chmodSync(join(b, "Dockerfile"), 0o755);
    expect(digest(b)).toBe(digest(a));
  });

  it("changes when one byte of one file changes", () => {
    const a = tree();
    const b = tree({ ...FILES, "src/app.ts": "export const answer = 43;\n" });
    expect(digest(b)).not.toBe(digest(a));
  });

  it("changes when a file is renamed, added or removed", () => {
    const base = digest(tree());
    const renamed = tree();
    renameSync(join(renamed, "src/log.ts"), join(renamed, "src/logs.ts"));
    expect(digest(renamed)).not.toBe(base);
    expect(digest(tree({ ...FILES, "src/new.ts": "" }))).not.toBe(base);
    const withoutEmpty = Object.fromEntries(Object.entries(FILES).filter(([path]) => path !== "empty"));
    expect(digest(tree(withoutEmpty))).not.toBe(base);
  });

  it("ignores .git, and what builds write into the tree", () => {
    const base = digest(tree());
    const dir = tree();
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: dir },
      });
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-q", "-m", "one");
    for (const [path, content] of Object.entries({
      "node_modules/pino/index.js": "x",
      "reports/junit.xml": "<testsuites/>",
      "coverage/lcov.info": "x",
      "service-config.json": "{}",
    })) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    expect(digest(dir)).toBe(base);
    // Only at the top: a reports/ folder inside the source is source.
    expect(digest(tree({ ...FILES, "src/reports/x.ts": "" }))).not.toBe(base);
  });

  it("gives the well-known digest of an empty list for an empty tree", () => {
    expect(digest(mkdtempSync(join(tmpdir(), "lab-digest-empty-")))).toBe("e3b0c44298fc");
  });
});
