// The lessons' numbers, from one source: docs/numbers.json (the rehearsal's
// times written by `npm run bench`, AWS's estimates worked out in the README's
// timeline, the cost of each lesson). Every lesson page's card and closing
// clean-up, and the instructor's table, are rendered from it between markers
// (`<!-- numbers:NAME -->` … `<!-- /numbers:NAME -->`); the README's step
// table is checked against it. The same pass links each lesson and theory
// page's first use of a glossary term (docs/glossary.ts). `npm run
// docs:render` rewrites them; test/docs.test.ts fails when a page differs
// from its rendering.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { format, resolveConfig } from "prettier";
import { type Step, STEPS } from "../setup/steps.ts";
import { linkFirstUses } from "./glossary.ts";

export interface Numbers {
  readonly rehearsal: {
    readonly measured: string;
    readonly steps: Record<string, { readonly cold: number; readonly warm: number }>;
  };
  /** Per step and for "teardown": as a step of `bin/run`, as `bin/lesson NN`, and what takes the time. */
  readonly aws: Record<string, { readonly run: string; readonly lesson: string; readonly slow: string }>;
  readonly cost: Record<string, string>;
}

export const ROOT = join(import.meta.dirname, "..");
export const NUMBERS_FILE = join(ROOT, "docs", "numbers.json");
export const INSTRUCTOR_PAGE = join(ROOT, "docs", "instructor.md");
const THEORY_DIR = join(ROOT, "docs", "theory");
/** The glossary as the lesson and theory pages link it. */
const GLOSSARY_FROM_PAGES = "../glossary.md";

export async function readNumbers(file = NUMBERS_FILE): Promise<Numbers> {
  return JSON.parse(await readFile(file, "utf8")) as Numbers;
}

function get<T>(record: Record<string, T>, key: string, what: string): T {
  const value = record[key];
  if (value === undefined) throw new Error(`docs/numbers.json has no ${what} for ${key}`);
  return value;
}

const seconds = (s: number) => (s < 1 ? "< 1 s" : `~${Math.round(s)} s`);

/** The rehearsal's time for a step: one number when a first run costs little more, else first time and after. */
export function rehearsalTime(numbers: Numbers, id: string): string {
  const { cold, warm } = get(numbers.rehearsal.steps, id, "rehearsal time");
  // A first run that costs under 2 s more is not worth a second number.
  if (cold - warm < 2) return seconds(warm);
  return `${seconds(cold)} the first time on a machine (builds with nothing cached), ${seconds(warm)} after`;
}

/** "lessons 01–03" / "lesson 01" */
function lessonList(ids: readonly string[]): string {
  if (ids.length === 1) return `lesson ${ids[0]}`;
  const contiguous = ids.every((id, i) => i === 0 || Number(id) === Number(ids[i - 1]) + 1);
  return contiguous ? `lessons ${ids[0]}–${ids.at(-1)}` : `lessons ${ids.join(", ")}`;
}

const SETUP_LINK = "[how to set up `lab`](../../README.md#a-room-on-aws-with-the-demo-image)";

/** The card every lesson page opens with (after its first paragraph). */
export function card(numbers: Numbers, step: Step): string {
  const aws = get(numbers.aws, step.id, "AWS time");
  const needs =
    step.needs.length === 0
      ? "nothing before it"
      : `${lessonList(step.needs)} done; to catch up, \`bin/lesson ${step.id} --prepare\` runs the ones not done yet`;
  return [
    "|                 |     |",
    "| --------------- | --- |",
    `| **Time**        | rehearsal ${rehearsalTime(numbers, step.id)}; on AWS ${aws.lesson} (${aws.slow}) |`,
    `| **Cost on AWS** | ${get(numbers.cost, step.id, "cost")} |`,
    `| **Needs**       | ${needs} |`,
    `| **Rehearsal**   | \`bin/lesson ${step.id}\`: free, everything on this machine |`,
    `| **On AWS**      | once per shell \`export REGION=eu-west-1 PREFIX=<your name>\`, then the same \`bin/lesson ${step.id}\`; with the demo image \`lab lesson ${step.id}\` (${SETUP_LINK}) |`,
    `| **Clean up**    | see [the end of this page](#clean-up) |`,
  ].join("\n");
}

/** The closing section of every lesson page. */
export function cleanup(numbers: Numbers, step: Step): string {
  const next = STEPS[STEPS.indexOf(step) + 1];
  const keep = next ? `Going on to lesson ${next.id}? Keep everything: it builds on this.` : "This is the last lesson.";
  const aws = get(numbers.aws, "teardown", "AWS time");
  return [
    "## Clean up",
    "",
    `${keep} Stopping here: \`bin/teardown\` (\`lab teardown\` with the demo image), in the same shell, so it reads the same \`REGION\` and \`PREFIX\`. It removes everything of your prefix (rehearsal ${rehearsalTime(numbers, "teardown")}; on AWS ${aws.lesson}, ${aws.slow}) and ends with "nothing tagged … is left". Aimed at the wrong place, it names the command that reaches the run this machine recorded, and exits 2.`,
  ].join("\n");
}

/** The instructor's table of lessons and times. */
export function instructorTable(numbers: Numbers): string {
  const rows = [
    ...STEPS.map((s) => [`${s.id} ${s.title.toLowerCase()}`, s.id] as const),
    ["teardown", "teardown"] as const,
  ];
  return [
    "| lesson | rehearsal | AWS | what takes the time on AWS |",
    "| --- | --- | --- | --- |",
    ...rows.map(([name, id]) => {
      const aws = get(numbers.aws, id, "AWS time");
      return `| ${name} | ${rehearsalTime(numbers, id)} | ${aws.lesson} | ${aws.slow} |`;
    }),
    "",
    `Rehearsal times measured ${numbers.rehearsal.measured} (\`npm run bench\`, docs/benchmarks.md); AWS times are estimates worked out in the README, and each run's summary prints the real ones.`,
  ].join("\n");
}

/** Replaces the block between `<!-- numbers:NAME -->` and `<!-- /numbers:NAME -->`; the markers must exist. */
export function replaceBlock(doc: string, name: string, body: string, where: string): string {
  const start = `<!-- numbers:${name} -->`;
  const end = `<!-- /numbers:${name} -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${where} lacks the markers ${start} … ${end}`);
  return `${doc.slice(0, from)}${start}\n\n${body.trim()}\n\n${doc.slice(to)}`;
}

async function formatted(file: string, text: string): Promise<string> {
  return format(text, { ...(await resolveConfig(file)), filepath: file });
}

/** Every file the numbers render into, with its text as it should be. */
export async function renderAll(numbers: Numbers): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const step of STEPS) {
    const file = join(ROOT, step.lessonPage);
    let text = await readFile(file, "utf8");
    text = replaceBlock(text, "card", card(numbers, step), step.lessonPage);
    text = replaceBlock(text, "cleanup", cleanup(numbers, step), step.lessonPage);
    files.set(file, await formatted(file, linkFirstUses(text, GLOSSARY_FROM_PAGES)));
  }
  for (const name of (await readdir(THEORY_DIR)).filter((f) => f.endsWith(".md")).sort()) {
    const file = join(THEORY_DIR, name);
    files.set(file, await formatted(file, linkFirstUses(await readFile(file, "utf8"), GLOSSARY_FROM_PAGES)));
  }
  const instructor = replaceBlock(
    await readFile(INSTRUCTOR_PAGE, "utf8"),
    "lessons",
    instructorTable(numbers),
    "docs/instructor.md",
  );
  files.set(INSTRUCTOR_PAGE, await formatted(INSTRUCTOR_PAGE, instructor));
  return files;
}

/** Writes new numbers and renders them into every page that shows them. */
export async function writeNumbers(numbers: Numbers): Promise<void> {
  await writeFile(NUMBERS_FILE, await formatted(NUMBERS_FILE, JSON.stringify(numbers)));
  for (const [file, text] of await renderAll(numbers)) await writeFile(file, text);
}

if (import.meta.main) {
  await writeNumbers(await readNumbers());
  process.stderr.write(
    "[render] lesson cards, clean-up sections, the instructor's table and glossary links rendered\n",
  );
}
