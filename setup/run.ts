// bin/run: the walk-through, in the CLI's four phases: validate (flags, the
// steps selected, a confirmation where resources cost money), ask (connect,
// introduce, check the account, confirm), execute (earlier steps recovered
// read-only, the selected ones run, narrated and timed), recommend (the
// summary, and the rehearsal removes itself unless --keep). Returns the exit
// code; only bin/ exits.
import { begin, confirm, main, type RunHooks, untilInterrupted } from "./cli.ts";
import { createContext, type RunContext } from "./lib/context.ts";
import { EXIT } from "./lib/errors.ts";
import { placeOf, remember } from "./lib/run-records.ts";
import { STEPS, selectSteps, type Step } from "./steps.ts";
import { targetFor } from "./targets/index.ts";
import { teardown } from "./teardown.ts";

export type { RunHooks };

const RUN_HELP = `Usage: bin/run [flags]     (also: npm start -- [flags])

Builds a CI/CD pipeline to ECS Fargate step by step, narrated:
${STEPS.map((s) => `  ${s.id} ${s.title.toLowerCase()}`).join("\n")}
With a region it works in your AWS account; without one it rehearses everything
locally against an AWS emulator in Docker, for free.

  --target aws|local     default: aws when --region or REGION is given, else local
  --region REGION        AWS region, e.g. eu-west-1 (or REGION=...)
  --prefix NAME          names everything (default: demo; 2-20 of a-z, 0-9, -)
  --source codecommit|s3|auto   where the app's source goes (default: auto)
  --plan                 AWS: check, creating nothing, what the account would refuse (templates,
                         your permissions, quotas); exit 2 when something would stop the run
  --yes, -y              do not ask for confirmation (needed on AWS without a terminal)
  --step                 pause before each step (on a terminal)
  --from NN, --until NN  run only steps NN..NN (what earlier steps made is read back, not redone)
  --keep                 local: leave the rehearsal running at the end
  --message TEXT         step 05: the new /time message (default: a fixed one)
  --email ADDRESS        step 07: also mail the alarms' changes there (AWS mails a link to confirm first)
  --verbose, -v          show stack traces on errors
  --help, -h             this text

Remove everything it made: bin/teardown --prefix NAME [--target ...] [--dry-run]`;

/**
 * Earlier steps' state, read back without changing anything; then the
 * selected steps, narrated and timed. Undefined when the person stopped at a
 * --step pause.
 */
export async function executeSteps(
  ctx: RunContext,
  plan: {
    recover: readonly Step[];
    run: readonly Step[];
    /** Its heading already printed (bin/lesson NN). */ announced?: string;
  },
  hooks: RunHooks = {},
): Promise<Array<[string, number]> | undefined> {
  ctx.state.steps = plan.run.map((s) => s.id);
  // Before anything is created: so that a teardown aimed elsewhere can name this place.
  const unrecorded = await remember(ctx.config.recordsDir, ctx.config.prefix, placeOf(ctx.config, ctx.state.accountId));
  if (unrecorded)
    ctx.ui.warn(`Could not record this run (${unrecorded}): bin/teardown will not remind you where it is.`);
  for (const step of plan.recover) await untilInterrupted(ctx.signal, step.recover(ctx));
  const timings: Array<[string, number]> = [];
  for (const step of plan.run) {
    if (step.id !== plan.announced) ctx.ui.heading(step.id, step.title);
    if (ctx.config.stepByStep && !(await confirm(`Run step ${step.id}?`))) return undefined;
    const started = performance.now();
    await untilInterrupted(ctx.signal, step.run(ctx));
    timings.push([step.id, (performance.now() - started) / 1000]);
    await hooks.afterStep?.(step.id);
  }
  return timings;
}

function summarize(ctx: RunContext, timings: ReadonlyArray<readonly [string, number]>): void {
  const { state, config, ui, target } = ctx;
  ui.result("");
  ui.result("Summary");
  if (state.appUrl) ui.result(`  app URL       ${state.appUrl}   (version ${state.version})`);
  for (const [id, seconds] of timings) {
    const step = STEPS.find((s) => s.id === id);
    ui.result(`  step ${id}       ${seconds.toFixed(1).padStart(6)} s  ${step?.title ?? ""}`);
  }
  if (state.created.length > 0) ui.result(`  created       ${state.created.join("; ")}`);
  ui.result(`  tear down     bin/teardown --prefix ${config.prefix} ${target.flags}`);
}

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv, hooks: RunHooks = {}): Promise<number> {
  const begun = begin(argv, env, hooks, RUN_HELP);
  if ("exitCode" in begun) return begun.exitCode;
  return main(begun, async ({ config, ui, abort }) => {
    // Validate.
    const target = targetFor(config);
    const plan = selectSteps(config.from, config.until);
    // A plan creates nothing: it needs no confirmation.
    if (!config.plan) target.refuseUnconfirmed();

    // Ask.
    const session = await untilInterrupted(abort.signal, target.open({ start: true }));
    if (!session) throw new Error("the target opened no session");
    const ctx = createContext(session.config, target, ui, abort.signal, { accountId: session.accountId });
    target.introduce(ui, session);
    if (config.plan) {
      await untilInterrupted(abort.signal, target.plan(ctx, session));
      ui.ok(
        "Nothing AWS would refuse was found, and nothing was created. Run the same command without --plan to build it.",
      );
      return EXIT.ok;
    }
    if (!(await target.approve(ctx, session, confirm))) {
      ui.info("Nothing was created.");
      return EXIT.ok;
    }

    // Execute.
    const timings = await executeSteps(ctx, plan, hooks);
    if (!timings) return EXIT.ok;

    // Recommend.
    summarize(ctx, timings);
    hooks.onTimings?.(timings);
    await target.finishRun(ctx, async () => {
      await teardown(ctx, { dryRun: false, removeEmulator: true });
    });
    return EXIT.ok;
  });
}
