// The one registry of the walk-through's steps. Each step is one line here
// and four files of its own: setup/NN-slug.ts (narration and logic: run and a
// read-only recover), setup/checks/NN-slug.ts, lessons/NN-slug.test.ts and
// docs/lessons/NN-slug.md. bin/run, bin/lesson, the docs test and the lesson
// tests all read this list; nothing else lists steps.
import * as run01 from "./01-bucket-stack.ts";
import * as run02 from "./02-seed-repository.ts";
import * as run03 from "./03-pipeline-and-environment.ts";
import * as run04 from "./04-verify-app.ts";
import * as run05 from "./05-ship-a-change.ts";
import * as run06 from "./06-a-release-goes-wrong.ts";
import * as run07 from "./07-watch-it.ts";
import * as run08 from "./08-release-to-a-few-first.ts";
import * as check01 from "./checks/01-bucket-stack.ts";
import * as check02 from "./checks/02-seed-repository.ts";
import * as check03 from "./checks/03-pipeline-and-environment.ts";
import * as check04 from "./checks/04-verify-app.ts";
import * as check05 from "./checks/05-ship-a-change.ts";
import * as check06 from "./checks/06-a-release-goes-wrong.ts";
import * as check07 from "./checks/07-watch-it.ts";
import * as check08 from "./checks/08-release-to-a-few-first.ts";
import type { CheckResult } from "./checks/check.ts";
import type { CheckContext, RunContext } from "./lib/context.ts";
import { ConfigError } from "./lib/errors.ts";

export interface Step {
  /** "01" */
  readonly id: string;
  /** "bucket-stack": names the step's files. */
  readonly slug: string;
  readonly title: string;
  /** The lesson's page, docs/lessons/NN-slug.md. */
  readonly lessonPage: string;
  /** Narrated; creates or changes what the step is about. Idempotent. */
  run(ctx: RunContext): Promise<void>;
  /** Read only: is the lesson done, and why not. */
  check(ctx: CheckContext): Promise<CheckResult>;
  /** Read only: fills in the state later steps need from what exists, changing nothing. */
  recover(ctx: RunContext): Promise<void>;
  /** The lessons `bin/lesson` checks are done first: every earlier one unless the step says otherwise. */
  readonly needs: readonly string[];
}

interface StepModule {
  readonly title: string;
  readonly run: (ctx: RunContext) => Promise<void>;
  readonly recover: (ctx: RunContext) => Promise<void>;
}

function step(
  id: string,
  slug: string,
  module: StepModule,
  check: { readonly check: Step["check"] },
  needs?: readonly string[],
): Step {
  return {
    id,
    slug,
    title: module.title,
    lessonPage: `docs/lessons/${id}-${slug}.md`,
    run: module.run,
    check: check.check,
    recover: module.recover,
    // Filled in below: every earlier step.
    needs: needs ?? [],
  };
}

export const STEPS: readonly Step[] = Object.freeze(
  [
    step("01", "bucket-stack", run01, check01),
    step("02", "seed-repository", run02, check02),
    step("03", "pipeline-and-environment", run03, check03),
    step("04", "verify-app", run04, check04),
    step("05", "ship-a-change", run05, check05),
    // Lesson 06 ships changes of its own: it needs a running app (04), not that the latest source serves
    // (05's check), which its own broken release disturbs until it is reverted - so a re-run after an
    // interruption is not refused.
    step("06", "a-release-goes-wrong", run06, check06, ["01", "02", "03", "04"]),
    // Lesson 07 watches the running app: it needs one (04), not lessons 05 or 06.
    step("07", "watch-it", run07, check07, ["01", "02", "03", "04"]),
    // Lesson 08 releases behind lesson 07's latency alarm: it needs the running app and the alarm.
    step("08", "release-to-a-few-first", run08, check08, ["01", "02", "03", "04", "07"]),
  ].map((s, i, all) => (s.needs.length > 0 || i === 0 ? s : { ...s, needs: all.slice(0, i).map((e) => e.id) })),
);

/** The step an argument names ("3", "03"), if any. */
function findStep(value: string): Step | undefined {
  return STEPS.find((s) => s.id === value.padStart(2, "0"));
}

const ids = () => STEPS.map((s) => s.id).join(", ");

/** The steps --from/--until select to run, and the earlier ones to recover; ConfigError (exit 2) on a bad choice. */
export function selectSteps(from: string | undefined, until: string | undefined): { recover: Step[]; run: Step[] } {
  const index = (value: string | undefined, flag: string, fallback: number) => {
    if (value === undefined) return fallback;
    const found = findStep(value);
    if (!found) throw new ConfigError(`--${flag} ${value} is not a step.`, `Use one of ${ids()}.`);
    return STEPS.indexOf(found);
  };
  const first = index(from, "from", 0);
  const last = index(until, "until", STEPS.length - 1);
  if (first > last) throw new ConfigError(`--from ${from} comes after --until ${until}.`, "Swap them.");
  return { recover: STEPS.slice(0, first), run: STEPS.slice(first, last + 1) };
}

/** The lesson `bin/lesson NN` names; ConfigError (exit 2) when there is none. */
export function lessonStep(value: string): Step {
  const found = findStep(value);
  if (!found) throw new ConfigError(`There is no lesson ${value}.`, `Lessons are ${ids()}; \`bin/lesson\` lists them.`);
  return found;
}
