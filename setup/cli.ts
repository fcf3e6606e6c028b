// What every entry point (bin/run, bin/teardown, bin/lesson) shares: reading
// the flags into a Config, help, Ctrl-C as an abort, the confirmation prompt,
// and one way of reporting an error. Only bin/ exits.
import { type Config, readConfig } from "./lib/config.ts";
import { EXIT, InterruptedError, LabError } from "./lib/errors.ts";
import { createNarrator, type Narrator } from "./lib/ui/narrator.ts";

/** For tests: where narration goes, and points to interrupt or time a run. */
export interface RunHooks {
  /** Called after each step, e.g. to simulate an interruption there. */
  afterStep?(step: string): void | Promise<void>;
  /** Where narration goes instead of stderr and stdout. */
  readonly output?: NodeJS.WriteStream;
  /** Told each step's duration in seconds (the same numbers the summary prints). */
  onTimings?(timings: ReadonlyArray<readonly [string, number]>): void;
  /** Teardown on AWS: how long deletions may settle before what is left counts (default 60 s). */
  readonly leftoverWait?: { readonly maxWaitSeconds: number; readonly minDelaySeconds: number };
}

/** Prints an error the way every entry point does: one message, a hint, no stack unless --verbose. */
export function report(error: unknown, ui: Narrator, verbose: boolean): number {
  if (error instanceof LabError) {
    ui.error(error.message);
    if (error.hint) ui.info(ui.color.dim(`What to do: ${error.hint}`));
    if (verbose && error.cause instanceof Error && error.cause.stack) ui.info(error.cause.stack);
    return error.exitCode;
  }
  const e = error as Error;
  ui.error(`Unexpected error: ${e?.message ?? String(error)}`);
  ui.info(verbose ? (e?.stack ?? "") : ui.color.dim("Run again with --verbose to see where it happened."));
  return EXIT.stepFailed;
}

/** How long an interrupted command gives its work to stop at its next safe point before it gives up on it. */
export const STOP_WITHIN_MS = 10_000;

/**
 * Runs work until Ctrl-C: then it waits (up to STOP_WITHIN_MS) for the work
 * to stop where it checks the abort signal - every wait does - so nothing is
 * left half-done behind the "Interrupted" line (a container being started, a
 * target being registered), and rejects with the interruption. A re-run
 * carries on from there.
 */
export function untilInterrupted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const settled = work.then(
        () => undefined,
        () => undefined,
      );
      const bound = new Promise<void>((done) => setTimeout(done, STOP_WITHIN_MS).unref());
      void Promise.race([settled, bound]).then(() => reject(new InterruptedError()));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work
      .then(
        (value) => {
          if (!signal.aborted) resolve(value);
        },
        (error: unknown) => {
          if (!signal.aborted) reject(error instanceof Error ? error : new Error(String(error)));
        },
      )
      .finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A yes/no question on the terminal; anything but y or yes is no. */
export async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
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
  const onSigint = () => {
    if (!abort.signal.aborted) {
      ui.warn("Ctrl-C: stopping at the next safe point (press it again to stop at once).");
      abort.abort();
      return;
    }
    // The second Ctrl-C: say what is left, then die of the signal as a shell expects (it reports 130).
    process.off("SIGINT", onSigint);
    ui.warn(
      "Stopped at once: what was under way may be half-done; a re-run carries on, or bin/teardown removes everything.",
    );
    process.kill(process.pid, "SIGINT");
  };
  process.on("SIGINT", onSigint);
  return { config, ui, abort, release: () => process.off("SIGINT", onSigint) };
}

/** Runs an entry point's body: errors reported, Ctrl-C as exit 130, the SIGINT handler released. */
export async function main(begun: Begun, body: (begun: Begun) => Promise<number>): Promise<number> {
  try {
    return await body(begun);
  } catch (error) {
    return report(begun.abort.signal.aborted ? new InterruptedError() : error, begun.ui, begun.config.verbose);
  } finally {
    begun.release();
  }
}
