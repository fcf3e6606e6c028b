// bin/lesson: the workshop, one lesson at a time. `bin/lesson` lists the
// lessons with a done mark for this account and prefix (starting nothing);
// `bin/lesson NN` checks that earlier lessons are done, reads back what they
// made, runs step NN narrated, then its check; `bin/lesson NN --check` only
// checks. Checks only read.
import { begin, confirm, main, type RunHooks, untilInterrupted } from "./cli.ts";
import { createContext } from "./lib/context.ts";
import { EXIT, StepError } from "./lib/errors.ts";
import { executeSteps } from "./run.ts";
import { lessonStep, STEPS } from "./steps.ts";
import { targetFor } from "./targets/index.ts";

const LESSON_HELP = `Usage: bin/lesson [NN] [--check] [flags]     (also: npm run lesson -- NN)

  bin/lesson              list the lessons, each marked done or not for this prefix
  bin/lesson NN           run lesson NN: its step, narrated, then its check
  bin/lesson NN --check   only check whether lesson NN is done
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
    ui.heading(step.id, `Lesson: ${step.title}`);
    ui.info(`The lesson's page: ${step.lessonPage}`);
    if (ctx && !config.checkOnly) {
      const earlier = STEPS.slice(0, STEPS.indexOf(step));
      for (const before of earlier.filter((s) => step.needs.includes(s.id))) {
        const done = await before.check(ctx);
        if (!done.pass) {
          throw new StepError(
            `Lesson ${step.id} needs lesson ${before.id} first: ${done.message}`,
            `Run \`bin/lesson ${before.id}\`, then \`bin/lesson ${step.id}\`.`,
          );
        }
      }
      target.introduce(ui, session);
      if (session.notice) ui.info(session.notice);
      if (!(await target.approve(ctx, session, confirm))) {
        ui.info("Nothing was created.");
        return EXIT.ok;
      }
      if (!(await executeSteps(ctx, { recover: earlier, run: [step] }, hooks))) return EXIT.ok;
    }
    const result = ctx
      ? await step.check(ctx)
      : { pass: false, message: `No rehearsal is running for this prefix: \`bin/lesson 01\` starts one.` };
    if (result.pass) ui.ok(`Lesson ${step.id} is done: ${result.message}`);
    else ui.error(`Lesson ${step.id} is not done: ${result.message}`);
    return result.pass ? EXIT.ok : EXIT.stepFailed;
  });
}
