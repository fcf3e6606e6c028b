// bin/run: the walk-through. Reads the flags, connects to the target, runs
// steps 01-04 in order (narrated, timed, resumable), prints the summary, and
// for the local rehearsal tears everything down at the end unless --keep.
// Returns the exit code; only bin/ exits.
import { Writable } from "node:stream";
import * as step01 from "./01-bucket-stack.ts";
import * as step02 from "./02-seed-repository.ts";
import * as step03 from "./03-pipeline-and-environment.ts";
import * as step04 from "./04-verify-app.ts";
import * as step05 from "./05-ship-a-change.ts";
import { type Config, readConfig, STEPS } from "./lib/config.ts";
import { createContext, type RunContext } from "./lib/context.ts";
import {
  checkAccount,
  ECS_SERVICE_LINKED_ROLE,
  ensureEcsServiceLinkedRole,
  type Preflight,
} from "./lib/aws/account-preflight.ts";
import { checkRegion } from "./lib/aws/preflight.ts";
import { ConfigError, EXIT, InterruptedError, LabError, PrerequisiteError } from "./lib/errors.ts";
import { openSession } from "./lib/session.ts";
import { createNarrator, type Narrator } from "./lib/ui/narrator.ts";
import { teardown } from "./teardown.ts";

interface StepModule {
  readonly title: string;
  run(ctx: RunContext, quiet?: boolean): Promise<void>;
}

export const STEP_MODULES: Readonly<Record<(typeof STEPS)[number], StepModule>> = {
  "01": step01,
  "02": step02,
  "03": step03,
  "04": step04,
  "05": step05,
};

/** For tests: called after each step, e.g. to simulate an interruption there. */
export interface RunHooks {
  afterStep?(step: string): void | Promise<void>;
  /** Where narration goes instead of stderr and stdout. */
  readonly output?: NodeJS.WriteStream;
  /** Told each step's duration in seconds (the same numbers the summary prints). */
  onTimings?(timings: ReadonlyArray<readonly [string, number]>): void;
}

export const RUN_HELP = `Usage: bin/run [flags]     (also: npm start -- [flags])

Builds a CI/CD pipeline to ECS Fargate step by step, narrated:
  01 bucket stack   02 seed repository   03 pipeline and environment   04 verify app
  05 ship a change
With a region it works in your AWS account; without one it rehearses everything
locally against an AWS emulator in Docker, for free.

  --target aws|local     default: aws when --region or REGION is given, else local
  --region REGION        AWS region, e.g. eu-west-1 (or REGION=...)
  --prefix NAME          names everything (default: demo; 2-20 of a-z, 0-9, -)
  --source codecommit|s3|auto   where the app's source goes (default: auto)
  --yes, -y              do not ask for confirmation
  --step                 pause before each step (on a terminal)
  --from NN, --until NN  run only steps NN..NN (earlier steps are checked quietly)
  --keep                 local: leave the rehearsal running at the end
  --message TEXT         step 05: the new /time message (default: a fixed one)
  --verbose, -v          show stack traces on errors
  --help, -h             this text

Remove everything it made: bin/teardown --prefix NAME [--target ...] [--dry-run]`;

export const TEARDOWN_HELP = `Usage: bin/teardown [flags]     (also: npm run teardown -- [flags])

Deletes everything bin/run made for a prefix - the service, pipeline, environment
and bucket stacks, images, the repository or source.zip, every object version -
waits for each deletion, then checks nothing tagged with the prefix is left.

  --target aws|local   --region REGION   --prefix NAME (default: demo)
  --dry-run            list what would be deleted, delete nothing
  --yes, -y            do not ask for confirmation
  --verbose, -v        show stack traces on errors`;

/** Where the narration of silently re-run earlier steps goes. */
const nowhere = new Writable({ write: (_chunk, _encoding, done) => done() }) as unknown as NodeJS.WriteStream;

/** Prints an error the way every entry point does: one message, a hint, no stack unless --verbose. */
export function report(error: unknown, ui: Narrator, verbose: boolean): number {
  if (error instanceof LabError) {
    ui.error(error.message);
    ui.info(ui.color.dim(`What to do: ${error.hint}`));
    if (verbose && error.cause instanceof Error && error.cause.stack) ui.info(error.cause.stack);
    return error.exitCode;
  }
  const e = error as Error;
  ui.error(`Unexpected error: ${e?.message ?? String(error)}`);
  ui.info(verbose ? (e?.stack ?? "") : ui.color.dim("Run again with --verbose to see where it happened."));
  return EXIT.stepFailed;
}

/** Races work against Ctrl-C, so an interrupted run stops at once (its state stays resumable). */
export function untilInterrupted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new InterruptedError());
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

async function confirm(ui: Narrator, question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * On AWS a run creates resources that cost money: it is confirmed at a
 * terminal, or in advance with --yes. Without either it is refused (exit 2)
 * before anything is looked up or created.
 */
export function refuseUnconfirmedAws(config: Config): void {
  if (config.target === "aws") checkRegion(config.aws.region);
  if (config.target === "aws" && !config.yes && !config.interactive) {
    throw new ConfigError(
      "On AWS this creates resources that cost money, and there is no terminal to ask for confirmation on.",
      "Run it at a terminal to be asked, or add --yes to confirm in advance.",
    );
  }
}

/**
 * The fresh-account preflight, shown with the confirmation; then, once
 * confirmed, the one thing it may create: ECS's service-linked role.
 * Returns false when the person said no.
 */
async function approveOnAws(ctx: RunContext, config: Config): Promise<boolean> {
  const { ui } = ctx;
  const spinner = ui.spin("checking the account: service-linked role, CodeBuild quota, VPCs, public IPv4");
  let preflight: Preflight;
  try {
    preflight = await untilInterrupted(ctx.signal, checkAccount(ctx.aws, config.aws.region));
    spinner.succeed("account checked");
  } catch (error) {
    spinner.fail("the account cannot hold this run yet");
    throw error;
  }
  for (const line of preflight.lines) ui.info(`  ${line}`);
  for (const warning of preflight.warnings) ui.warn(warning);
  if (config.interactive && !(await confirm(ui, "Create these resources?"))) return false;
  if (preflight.ecsServiceLinkedRole === "missing") {
    const made = await ensureEcsServiceLinkedRole(ctx.aws.iam);
    ui.ok(`ECS service-linked role ${ECS_SERVICE_LINKED_ROLE} ${made === "created" ? "created" : "already exists"}`);
  }
  return true;
}

function introduce(ui: Narrator, config: Config, accountId: string): void {
  if (config.target === "aws") {
    ui.info(`Account ${accountId}, region ${config.aws.region}, prefix "${config.prefix}".`);
    ui.info("This creates four CloudFormation stacks, an ECR repository and a CodeCommit repository (or source.zip),");
    ui.info("and runs 2 small Fargate tasks and a load balancer: about USD 0.08 per hour until bin/teardown");
    ui.info("(us-east-1 prices), plus about USD 0.05 of CodeBuild and CodePipeline time per release.");
  } else {
    ui.info(`Local rehearsal, prefix "${config.prefix}": free, nothing leaves this machine.`);
    ui.info("Emulated: AWS itself (moto in a container). Done locally instead: running the pipeline (test and");
    ui.info(
      "build on your Docker engine), and the Fargate service and load balancer (one app container on 127.0.0.1).",
    );
  }
}

function summarize(ui: Narrator, ctx: RunContext, timings: Array<[string, number]>): void {
  const { state, config } = ctx;
  ui.result("");
  ui.result("Summary");
  if (state.appUrl) ui.result(`  app URL       ${state.appUrl}   (version ${state.version})`);
  for (const [step, seconds] of timings) {
    ui.result(
      `  step ${step}       ${seconds.toFixed(1).padStart(6)} s  ${STEP_MODULES[step as (typeof STEPS)[number]].title}`,
    );
  }
  if (state.created.length > 0) ui.result(`  created       ${state.created.join("; ")}`);
  const target = config.target === "aws" ? ` --region ${config.aws.region}` : " --target local";
  ui.result(`  tear down     bin/teardown --prefix ${config.prefix}${target}`);
}

export interface Begun {
  readonly config: Config;
  readonly ui: Narrator;
  /** Aborted by Ctrl-C. */
  readonly abort: AbortController;
  /** Stops listening for Ctrl-C. */
  readonly release: () => void;
}

/**
 * What every entry point does first: parse the flags (or say what is wrong),
 * print the help when asked, and turn Ctrl-C into an abort.
 */
export function begin(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  hooks: RunHooks,
  help: string,
): Begun | { readonly exitCode: number } {
  const sink = hooks.output ? { stream: hooks.output, out: hooks.output } : {};
  let config: Config;
  try {
    config = readConfig(argv, env);
  } catch (error) {
    const early = createNarrator({
      tty: Boolean(process.stderr.isTTY),
      color: Boolean(process.stderr.isTTY) && !env.NO_COLOR,
      ...sink,
    });
    return { exitCode: report(error, early, argv.includes("--verbose")) };
  }
  const ui = createNarrator({ ...config, ...sink });
  if (config.help) {
    ui.result(help);
    return { exitCode: EXIT.ok };
  }
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  return { config, ui, abort, release: () => process.off("SIGINT", onSigint) };
}

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv, hooks: RunHooks = {}): Promise<number> {
  const started = begin(argv, env, hooks, RUN_HELP);
  if ("exitCode" in started) return started.exitCode;
  const { config, ui, abort, release } = started;
  try {
    refuseUnconfirmedAws(config);
    const session = await untilInterrupted(abort.signal, openSession(config));
    if (!session) throw new Error("no session");
    const ctx = createContext(session.config, ui, abort.signal);
    ctx.state.accountId = session.accountId;
    introduce(ui, session.config, session.accountId);
    if (session.emulator?.reused && !session.emulator.external)
      ui.info("Found this prefix's emulator still running: carrying on with it.");
    if (config.target === "aws") {
      if (!(await approveOnAws(ctx, session.config))) {
        ui.info("Nothing was created.");
        return EXIT.ok;
      }
    }

    const silent = createNarrator({ tty: false, color: false, stream: nowhere, out: nowhere });
    const timings: Array<[string, number]> = [];
    for (const [index, id] of STEPS.entries()) {
      const number = index + 1;
      if (number > config.untilStep) break;
      const step = STEP_MODULES[id];
      if (number < config.fromStep) {
        // Earlier steps are idempotent: run silently, they only recover what later steps need.
        await untilInterrupted(abort.signal, step.run({ ...ctx, ui: silent }, true));
        continue;
      }
      ui.heading(id, step.title);
      if (config.stepByStep && !(await confirm(ui, `Run step ${id}?`))) return EXIT.ok;
      const started = performance.now();
      await untilInterrupted(abort.signal, step.run(ctx));
      timings.push([id, (performance.now() - started) / 1000]);
      await hooks.afterStep?.(id);
    }
    summarize(ui, ctx, timings);
    hooks.onTimings?.(timings);

    if (config.target === "local" && !config.keep) {
      ui.heading("", "Tear down the rehearsal");
      ui.explain(
        "A rehearsal leaves nothing behind: the stacks, the app container and the emulator are removed.\nRun with --keep to look around first.",
      );
      const started = performance.now();
      await teardown(ctx, { dryRun: false, removeEmulator: !session.emulator?.external });
      ui.ok(`rehearsal removed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } else if (config.target === "local") {
      ui.info(`The rehearsal is still running. Remove it with: bin/teardown --prefix ${config.prefix} --target local`);
    }
    return EXIT.ok;
  } catch (error) {
    if (config.inDemoImage && config.target === "local" && error instanceof PrerequisiteError) {
      ui.error(DEMO_IMAGE_HELP);
      return error.exitCode;
    }
    return report(abort.signal.aborted ? new InterruptedError() : error, ui, config.verbose);
  } finally {
    release();
  }
}

/** What the demo image says when started with neither a region nor a Docker engine. */
export const DEMO_IMAGE_HELP = `This image needs a region (to build in your AWS account) or the Docker socket (to rehearse locally, free):
  AWS:   docker run -it -e REGION=eu-west-1 -e AWS_PROFILE -v ~/.aws:/home/lab/.aws:ro demo
  local: docker run -it --network host -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" demo`;

export async function runTeardown(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  hooks: RunHooks = {},
): Promise<number> {
  const started = begin(argv, env, hooks, TEARDOWN_HELP);
  if ("exitCode" in started) return started.exitCode;
  const { config, ui, abort, release } = started;
  try {
    const session = await untilInterrupted(abort.signal, openSession(config, false));
    if (!session) {
      // Local, and no emulator for this prefix: only containers can be left.
      const { findRehearsal } = await import("./lib/local/rehearsal.ts");
      const { removeContainers } = await import("./lib/local/docker.ts");
      const stray = await findRehearsal(config.prefix);
      if (!config.dryRun) await removeContainers(stray.map((c) => c.id));
      ui.ok(
        stray.length > 0
          ? `removed ${stray.length} container(s) of rehearsal ${config.prefix}`
          : `nothing to tear down for prefix ${config.prefix}`,
      );
      return EXIT.ok;
    }
    const ctx = createContext(session.config, ui, abort.signal);
    if (config.target === "aws")
      ui.info(`Account ${session.accountId}, region ${config.aws.region}, prefix "${config.prefix}".`);
    if (
      config.target === "aws" &&
      config.interactive &&
      !config.dryRun &&
      !(await confirm(ui, "Delete everything with this prefix?"))
    ) {
      ui.info("Nothing was deleted.");
      return EXIT.ok;
    }
    const started = performance.now();
    await untilInterrupted(
      abort.signal,
      teardown(ctx, { dryRun: config.dryRun, removeEmulator: !session.emulator?.external }),
    );
    if (!config.dryRun)
      ui.ok(
        `torn down in ${((performance.now() - started) / 1000).toFixed(1)} s; nothing tagged ${config.prefix} is left`,
      );

    return EXIT.ok;
  } catch (error) {
    return report(abort.signal.aborted ? new InterruptedError() : error, ui, config.verbose);
  } finally {
    release();
  }
}
