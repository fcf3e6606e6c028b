// bin/lesson: the workshop, one lesson at a time. `bin/lesson` lists the
// lessons with a done mark for this account and prefix (starting nothing);
// `bin/lesson NN` checks that earlier lessons are done, reads back what they
// made, runs step NN narrated, then its check; `bin/lesson NN --check` only
// checks. Checks only read.
import { begin, confirm, main, type RunHooks, untilInterrupted } from "./cli.ts";
import { createContext, type RunContext } from "./lib/context.ts";
import { EXIT, StepError } from "./lib/errors.ts";
import { executeSteps } from "./run.ts";
import { lessonStep, STEPS, type Step } from "./steps.ts";
import { targetFor } from "./targets/index.ts";
import type { Session } from "./targets/target.ts";

const LESSON_HELP = `Usage: bin/lesson [NN] [--check | --prepare] [flags]     (also: npm run lesson -- NN)

  bin/lesson              list the lessons, each marked done or not for this prefix
  bin/lesson NN           run lesson NN: its step, narrated, then its check
  bin/lesson NN --check   only check whether lesson NN is done
  bin/lesson NN --prepare catch up: run the earlier lessons lesson NN needs that are not done yet
Flags as for bin/run: --target, --region, --prefix, --yes, --verbose.
Lessons: ${STEPS.map((s) => `${s.id} ${s.title}`).join(" · ")}`;

export async function lesson(argv: readonly string[], env: NodeJS.ProcessEnv, hooks: RunHooks = {}): Promise<number> {
  const [first, ...rest] = argv;
  const positional = first !== undefined && !first.startsWith("-");
  const begun = begin(positional ? rest : argv, env, hooks, LESSON_HELP);
  if ("exitCode" in begun) return begun.exitCode;
  return main(begun, async ({ config, ui, abort }) => {
    const step = positional ? lessonStep(first) : undefined;
    const target = targetFor(config);

    if (step === undefined) {
      // Listing only reads: it finds a running rehearsal but never starts one.
      const session = await untilInterrupted(abort.signal, target.open({ start: false }));
      ui.result(`Lessons for prefix "${config.prefix}" (${target.label}):`);
      const ctx = session && createContext(session.config, target, ui, abort.signal);
      for (const each of STEPS) {
        const result = ctx
          ? await each.check(ctx)
          : { pass: false, message: `No rehearsal is running for this prefix: \`bin/lesson 01\` starts one.` };
        ui.result(`  ${result.pass ? "✓" : "·"} ${each.id} ${each.title.padEnd(26)} ${result.message}`);
      }
      return EXIT.ok;
    }

    if (!config.checkOnly) target.refuseUnconfirmed();
    const session = await untilInterrupted(abort.signal, target.open({ start: !config.checkOnly }));
    const ctx = session && createContext(session.config, target, ui, abort.signal, { accountId: session.accountId });
    ui.heading(step.id, `${config.prepare ? "Preparing for lesson" : "Lesson"}: ${step.title}`);
    ui.info(`The lesson's page: ${step.lessonPage}`);
    if (ctx && config.prepare) return prepare(ctx, session, step, hooks);
    if (ctx && !config.checkOnly) {
      const earlier = STEPS.slice(0, STEPS.indexOf(step));
      for (const before of earlier.filter((s) => step.needs.includes(s.id))) {
        const done = await before.check(ctx);
        if (!done.pass) {
          throw new StepError(
            `Lesson ${step.id} needs lesson ${before.id} first: ${done.message}`,
            `Catch up with \`${lessonCommand(ctx, step.id, "--prepare")}\` (it runs the earlier lessons not done yet), then \`${lessonCommand(ctx, step.id)}\`.`,
          );
        }
      }
      target.introduce(ui, session);
      if (!(await target.approve(ctx, session, confirm))) {
        ui.info("Nothing was created.");
        return EXIT.ok;
      }
      if (!(await executeSteps(ctx, { recover: earlier, run: [step], announced: step.id }, hooks))) return EXIT.ok;
    }
    const result = ctx
      ? await step.check(ctx)
      : { pass: false, message: `No rehearsal is running for this prefix: \`bin/lesson 01\` starts one.` };
    if (result.pass) ui.ok(`Lesson ${step.id} is done: ${result.message}`);
    else ui.error(`Lesson ${step.id} is not done: ${result.message}`);
    return result.pass ? EXIT.ok : EXIT.stepFailed;
  });
}

/** The command for a lesson as this person runs it: the image's own words in the demo image, this target's flags and prefix. */
function lessonCommand(ctx: RunContext, id: string, ...extra: string[]): string {
  const { config, target } = ctx;
  return [
    config.inDemoImage ? "lesson" : "bin/lesson",
    id,
    ...extra,
    ...(config.target === "aws" ? [target.flags] : []),
    ...(config.prefix === "demo" ? [] : ["--prefix", config.prefix]),
  ].join(" ");
}

/**
 * `bin/lesson NN --prepare`: brings the prefix to lesson NN's starting state.
 * It checks the lessons NN needs, in order, and from the first one not done
 * runs them (each narrated as in its own lesson); those before it are read
 * back. Lesson NN itself is left for the learner.
 */
async function prepare(ctx: RunContext, session: Session, step: Step, hooks: RunHooks): Promise<number> {
  const { ui, target } = ctx;
  const needed = STEPS.filter((s) => step.needs.includes(s.id));
  let firstNotDone = needed.length;
  for (const [i, before] of needed.entries()) {
    const done = await before.check(ctx);
    if (!done.pass) {
      ui.info(`· ${before.id} ${before.title}: not done yet (${done.message})`);
      firstNotDone = i;
      break;
    }
    ui.ok(`${before.id} ${before.title}: done`);
  }
  const toRun = needed.slice(firstNotDone);
  if (toRun.length > 0) {
    ui.info(`Catching up: ${toRun.map((s) => `lesson ${s.id}`).join(", ")}, as each lesson runs it.`);
    target.introduce(ui, session);
    if (!(await target.approve(ctx, session, confirm))) {
      ui.info("Nothing was created.");
      return EXIT.ok;
    }
    if (!(await executeSteps(ctx, { recover: needed.slice(0, firstNotDone), run: toRun }, hooks))) return EXIT.ok;
  }
  const before =
    needed.length === 0 ? "it needs no earlier lesson" : `lessons ${needed.map((s) => s.id).join(", ")} are done`;
  ui.ok(`Ready for lesson ${step.id} (${before}): ${lessonCommand(ctx, step.id)}`);
  return EXIT.ok;
}
