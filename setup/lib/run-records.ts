// Where this machine has made runs, so that a teardown aimed at the wrong
// place (the rehearsal when the run was on AWS, another region, other
// credentials) never says "nothing to tear down" while a run bills on. One
// small file per prefix and place, written when a run starts creating and
// removed when a teardown of that place ends clean: two prefixes never write
// the same file, so runs side by side cannot lose each other's record.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { TargetKind } from "./config.ts";

/** A place a run can live in: the local rehearsal, or an AWS account and region. */
export interface Place {
  readonly target: TargetKind;
  /** AWS only. */
  readonly region?: string;
  /** AWS only: the account the run was made in. */
  readonly account?: string;
}

export interface RunRecord extends Place {
  readonly prefix: string;
  /** When a run first created something there (ISO 8601). */
  readonly since: string;
}

/**
 * The folder of records: LAB_STATE_DIR, else ~/.aws-cicd-lab/runs. In the
 * demo image HOME is /home/lab, and the README mounts the host's
 * ~/.aws-cicd-lab there, so the image and a checkout share one record.
 */
export function recordsDir(env: NodeJS.ProcessEnv): string {
  return env.LAB_STATE_DIR ?? join(env.HOME ?? homedir(), ".aws-cicd-lab", "runs");
}

function fileOf(dir: string, prefix: string, place: Place): string {
  const where = place.target === "local" ? "local" : `aws-${place.account ?? "unknown"}-${place.region}`;
  return join(dir, `${prefix}@${where}.json`);
}

/** Where a command with this configuration works; the account only on AWS. */
export function placeOf(
  config: { readonly target: TargetKind; readonly aws: { readonly region: string } },
  account?: string,
): Place {
  return config.target === "local" ? { target: "local" } : { target: "aws", region: config.aws.region, account };
}

/** The same place: target, region and account. */
export function samePlace(a: Place, b: Place): boolean {
  return a.target === b.target && a.region === b.region && a.account === b.account;
}

/**
 * Records that a run of `prefix` creates things in `place` (kept if already
 * recorded). Returns why it could not, for a warning: a run must not fail
 * because its reminder could not be written.
 */
export async function remember(dir: string, prefix: string, place: Place): Promise<string | undefined> {
  const file = fileOf(dir, prefix, place);
  const record: RunRecord = { prefix, ...place, since: new Date().toISOString() };
  try {
    await mkdir(dir, { recursive: true });
    // "wx": the first run's date is kept.
    await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, { flag: "wx" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") return `${file}: ${(error as Error).message}`;
  }
  return undefined;
}

/** Forgets `prefix`'s run in `place` (its teardown ended clean). */
export async function forget(dir: string, prefix: string, place: Place): Promise<void> {
  await rm(fileOf(dir, prefix, place), { force: true });
}

/** Every place this machine recorded a run of `prefix` in. A record that cannot be read is skipped. */
export async function placesOf(dir: string, prefix: string): Promise<RunRecord[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const records: RunRecord[] = [];
  for (const name of names.filter((n) => n.startsWith(`${prefix}@`) && n.endsWith(".json")).sort()) {
    try {
      const record = JSON.parse(await readFile(join(dir, name), "utf8")) as RunRecord;
      if (record.prefix === prefix) records.push(record);
    } catch {
      // A half-written or hand-edited file: ignore it rather than block a teardown.
    }
  }
  return records;
}

/** How a place is named to a person: "the local rehearsal", "AWS account 1234… in eu-west-1". */
export function describePlace(place: Place): string {
  return place.target === "local"
    ? "the local rehearsal"
    : `AWS${place.account ? ` account ${place.account}` : ""} in ${place.region}`;
}

/** The teardown command that reaches a recorded run. */
export function teardownCommand(record: RunRecord, inDemoImage: boolean): string {
  const where = record.target === "local" ? "--target local" : `--region ${record.region}`;
  return `${inDemoImage ? "teardown" : "bin/teardown"} ${where} --prefix ${record.prefix}`;
}
