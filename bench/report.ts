// docs/benchmarks.md is shared by several benchmarks: each owns one section
// between <!-- bench:NAME --> and <!-- /bench:NAME --> and rewrites only that.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { format, resolveConfig } from "prettier";

const HEADER =
  "# Benchmarks\n\nWritten by `npm run bench`; each section names the machine and date it was measured on.\n";

export function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from >= 0 && to > from) return `${doc.slice(0, from)}${section}${doc.slice(to + end.length)}`;
  return `${doc.trimEnd()}\n\n${section}\n`;
}

export async function writeSection(file: string, name: string, body: string): Promise<void> {
  const doc = existsSync(file) ? await readFile(file, "utf8") : HEADER;
  // Formatted as `npm run lint` expects, so a fresh result never fails the check.
  const options = { ...(await resolveConfig(file)), filepath: file };
  await writeFile(file, await format(replaceSection(doc, name, body), options));
}

export function machine(): string {
  const cpu = cpus();
  const gib = (totalmem() / 2 ** 30).toFixed(0);
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${gib} GiB, ${process.platform} ${process.arch}`;
}
