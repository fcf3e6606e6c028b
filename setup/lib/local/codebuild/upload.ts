// UPLOAD_ARTIFACTS's work on the source directory as the build left it (a
// local copy): each report's files read as JUnit, the artifacts section's
// files zipped as CodePipeline stores an output artifact. A report or an
// artifacts section whose files match nothing is an upload error, in
// CodeBuild's words.
import { glob, readFile, stat } from "node:fs/promises";
import { basename, join, posix } from "node:path";
import { zipSync } from "fflate";
import type { Buildspec, FileSet } from "./buildspec.ts";
import { type JunitSummary, summariseJunit } from "./junit.ts";
import type { BuildLog } from "./log.ts";

export interface MatchedFile {
  /** Where it is on this machine. */
  readonly path: string;
  /** Its name in the artifact: relative to the base directory, or its base name with discard-paths. */
  readonly name: string;
}

/** The files of a report or of the artifacts section, in `root` (the source directory). */
export async function matchFiles(root: string, set: FileSet): Promise<MatchedFile[]> {
  const base = posix.normalize(set.baseDirectory);
  const found = new Map<string, string>();
  for (const pattern of set.files) {
    for await (const match of glob(pattern, { cwd: join(root, base) })) {
      const full = join(root, base, match);
      if (!(await stat(full)).isFile()) continue;
      found.set(full, set.discardPaths ? basename(match) : match);
    }
  }
  return [...found].map(([path, name]) => ({ path, name }));
}

export async function zipFiles(files: readonly MatchedFile[]): Promise<Uint8Array> {
  const entries: Record<string, Uint8Array> = {};
  for (const f of files) entries[f.name] = await readFile(f.path);
  return zipSync(entries, { level: 6 });
}

export interface Upload {
  readonly reports: Array<{ readonly name: string; readonly summary: JunitSummary }>;
  readonly artifact?: Uint8Array;
  /** CodeBuild's words for what could not be uploaded, e.g. "[unit: [report files not found in build]]". */
  readonly errors: readonly string[];
}

/** The buildspec's reports and artifacts from `root`, with their log lines. */
export async function collectUploads(
  root: string,
  spec: Pick<Buildspec, "reports" | "artifacts">,
  log: BuildLog,
): Promise<Upload> {
  const reports: Upload["reports"] = [];
  const errors: string[] = [];
  let artifact: Uint8Array | undefined;
  for (const [name, report] of Object.entries(spec.reports)) {
    const files = await matchFiles(root, report);
    log.container(`Preparing to copy test report files for ${name}: ${files.length} file(s)`);
    if (files.length === 0) {
      errors.push(`[${name}: [report files not found in build]]`);
      continue;
    }
    const summary = await summariseJunit(files.map((f) => f.path));
    reports.push({ name, summary });
    log.container(`Report ${name}: ${summary.line}`);
  }
  if (spec.artifacts) {
    const files = await matchFiles(root, spec.artifacts);
    if (files.length === 0) errors.push("no matching artifact paths found");
    else {
      artifact = await zipFiles(files);
      log.container(`Uploading artifacts: ${files.map((f) => f.name).join(", ")}`);
    }
  }
  return { reports, errors, ...(artifact ? { artifact } : {}) };
}
