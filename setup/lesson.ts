// bin/lesson: the workshop, one lesson at a time. `bin/lesson` lists the
// lessons with a done mark for this account and prefix; `bin/lesson NN` checks
// that earlier lessons are done, runs step NN narrated, then its check;
// `bin/lesson NN --check` only checks. Checks only read.
import * as check01 from "./checks/01-bucket-stack.ts";
import * as check02 from "./checks/02-seed-repository.ts";
import * as check03 from "./checks/03-pipeline-and-environment.ts";
import * as check04 from "./checks/04-verify-app.ts";
import * as check05 from "./checks/05-ship-a-change.ts";
import type { CheckContext, CheckResult } from "./checks/check.ts";
import { awsClients } from "./lib/aws/clients.ts";
import { STEPS } from "./lib/config.ts";
import { ConfigError, EXIT, StepError } from "./lib/errors.ts";
import { openSession } from "./lib/session.ts";
import { begin, refuseUnconfirmedAws, report, type RunHooks, run, STEP_MODULES } from "./run.ts";

type LessonId = (typeof STEPS)[number];

export const CHECKS: Readonly<Record<LessonId, (ctx: CheckContext) => Promise<CheckResult>>> = {
  "01": check01.check,
  "02": check02.check,
  "03": check03.check,
  "04": check04.check,
  "05": check05.check,
};

export const LESSON_DOCS: Readonly<Record<LessonId, string>> = {
  "01": "docs/lessons/01-bucket-stack.md",
  "02": "docs/lessons/02-seed-repository.md",
  "03": "docs/lessons/03-pipeline-and-environment.md",
  "04": "docs/lessons/04-verify-app.md",
  "05": "docs/lessons/05-ship-a-change.md",
};

export const LESSON_HELP = `Usage: bin/lesson [NN] [--check] [flags]     (also: npm run lesson -- NN)

  bin/lesson              list the lessons, each marked done or not for this prefix
  bin/lesson NN           run lesson NN: its step, narrated, then its check
  bin/lesson NN --check   only check whether lesson NN is done
Flags as for bin/run: --target, --region, --prefix, --yes, --verbose.
Lessons: ${STEPS.map((id) => `${id} ${STEP_MODULES[id].title}`).join(" · ")}`;

function lessonId(value: string): LessonId {
  const id = value.padStart(2, "0");
  if (!(STEPS as readonly string[]).includes(id)) {
    throw new ConfigError(
      `There is no lesson ${value}.`,
      `Lessons are ${STEPS.join(", ")}; \`bin/lesson\` lists them.`,
    );
  }
  return id as LessonId;
}

export async function lesson(argv: readonly string[], env: NodeJS.ProcessEnv, hooks: RunHooks = {}): Promise<number> {
  const [first, ...rest] = argv;
  const positional = first !== undefined && !first.startsWith("-");
  const started = begin(positional ? rest : argv, env, hooks, LESSON_HELP);
  if ("exitCode" in started) return started.exitCode;
  const { config, ui, release } = started;
  let id: LessonId | undefined;
  try {
    id = positional ? lessonId(first) : undefined;
  } catch (error) {
    release();
    return report(error, ui, config.verbose);
  }
  try {
    if (id !== undefined && !config.checkOnly) refuseUnconfirmedAws(config);
    const session = await openSession(config);
    if (!session) throw new StepError("No target to check.", "Run bin/lesson 01.");
    const ctx: CheckContext = { config: session.config, aws: awsClients(session.config.aws) };

    if (id === undefined) {
      ui.result(
        `Lessons for prefix "${config.prefix}" (${config.target === "aws" ? `AWS ${config.aws.region}` : "local rehearsal"}):`,
      );
      for (const each of STEPS) {
        const result = await CHECKS[each](ctx);
        ui.result(`  ${result.pass ? "✓" : "·"} ${each} ${STEP_MODULES[each].title.padEnd(26)} ${result.message}`);
      }
      return EXIT.ok;
    }

    ui.heading(id, `Lesson: ${STEP_MODULES[id].title}`);
    ui.info(`The lesson's page: ${LESSON_DOCS[id]}`);
    if (!config.checkOnly) {
      for (const earlier of STEPS.slice(0, STEPS.indexOf(id))) {
        const done = await CHECKS[earlier](ctx);
        if (!done.pass) {
          throw new StepError(
            `Lesson ${id} needs lesson ${earlier} first: ${done.message}`,
            `Run \`bin/lesson ${earlier}\`, then \`bin/lesson ${id}\`.`,
          );
        }
      }
      const code = await run(
        // No --yes added: on AWS the lesson asks, or is refused, exactly as bin/run is.
        ["--from", id, "--until", id, "--keep", ...(positional ? rest : argv)],
        env,
        hooks,
      );
      if (code !== EXIT.ok) return code;
    }
    const result = await CHECKS[id](ctx);
    if (result.pass) ui.ok(`Lesson ${id} is done: ${result.message}`);
    else ui.error(`Lesson ${id} is not done: ${result.message}`);
    return result.pass ? EXIT.ok : EXIT.stepFailed;
  } catch (error) {
    return report(error, ui, config.verbose);
  } finally {
    release();
  }
}
