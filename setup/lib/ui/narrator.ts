// The walk-through's voice: headings, explanations, results, and spinners for
// long waits. Everything goes to stderr. On a terminal, spinners update in
// place; elsewhere (CI, a pipe, a log file) every update is a plain line.
import { Chalk, type ChalkInstance } from "chalk";
import ora, { type Ora } from "ora";

export interface Spinner {
  /** Replace the spinner's text (on a terminal) or print it as a line (elsewhere, when it changed). */
  update(text: string): void;
  /** Print a line above the spinner without disturbing it. */
  log(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
}

export interface Narrator {
  readonly color: ChalkInstance;
  /** Whether it speaks to a terminal (pictures drawn in characters are for a person, not a log). */
  readonly tty: boolean;
  /** "Step 02 · Seed the repository"; with an empty step, just the title. */
  heading(step: string, title: string): void;
  /** Why the step exists and what it will do: shown before it runs. */
  explain(text: string): void;
  info(text: string): void;
  ok(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  /** Plain output that belongs on stdout (e.g. the summary), not the progress stream. */
  result(text: string): void;
  spin(text: string): Spinner;
}

export interface NarratorOptions {
  readonly tty: boolean;
  readonly color: boolean;
  readonly stream?: NodeJS.WriteStream;
  readonly out?: NodeJS.WriteStream;
}

/** The longest a spinner goes without a word: then it says again what it waits for, and for how long. */
export const HEARTBEAT_MS = 10_000;

export function createNarrator(options: NarratorOptions): Narrator {
  const stream = options.stream ?? process.stderr;
  const out = options.out ?? process.stdout;
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const write = (line: string) => stream.write(`${line}\n`);
  let active: Ora | undefined;
  // Lines printed while a spinner runs go above it.
  const print = (line: string) => {
    if (active?.isSpinning) {
      const text = active.text;
      active.clear();
      write(line);
      active.text = text;
      active.render();
    } else write(line);
  };

  return {
    color: c,
    tty: options.tty,
    heading(step, title) {
      print("");
      print(c.bold.cyan(step ? `━━ Step ${step} · ${title} ━━` : `━━ ${title} ━━`));
    },
    explain(text) {
      for (const line of text.trim().split("\n")) print(c.dim(`   ${line}`));
    },
    info(text) {
      print(`   ${text}`);
    },
    ok(text) {
      print(`${c.green("✓")}  ${text}`);
    },
    warn(text) {
      print(`${c.yellow("!")}  ${text}`);
    },
    error(text) {
      print(`${c.red("✗")}  ${text}`);
    },
    result(text) {
      out.write(`${text}\n`);
    },
    spin(text) {
      const began = Date.now();
      let last = text;
      let quietSince = began;
      // Without a terminal the label is written once it has something under it (a line, or a wait
      // past the heartbeat): a wait that ends without a word, or whose text is replaced first, shows
      // only what replaced it or how it ended.
      let labelled = false;
      const elapsed = () => `${Math.round((Date.now() - began) / 1000)} s`;
      // No wait stays silent: after HEARTBEAT_MS without a word, the spinner says again what it waits for.
      const heartbeat = setInterval(() => {
        if (Date.now() - quietSince < HEARTBEAT_MS) return;
        quietSince = Date.now();
        if (options.tty) spinner?.render();
        else {
          write(`…  ${last} (still waiting, ${elapsed()})`);
          labelled = true;
        }
      }, 1_000);
      heartbeat.unref();
      if (!options.tty) {
        const label = () => {
          if (!labelled) write(`…  ${last}`);
          labelled = true;
        };
        return {
          update(next) {
            if (next !== last || !labelled) {
              write(`…  ${next}`);
              labelled = true;
              quietSince = Date.now();
            }
            last = next;
          },
          log(line) {
            label();
            write(`   ${line}`);
            quietSince = Date.now();
          },
          succeed(line) {
            clearInterval(heartbeat);
            write(`${c.green("✓")}  ${line}`);
          },
          fail(line) {
            clearInterval(heartbeat);
            write(`${c.red("✗")}  ${line}`);
          },
        };
      }
      // On a terminal the spinner moves on its own; its text carries the time waited.
      const spinner: Ora = ora({
        text,
        prefixText: "",
        suffixText: "",
        stream,
        isEnabled: true,
        color: "cyan",
        discardStdin: false,
      }).start();
      const timer = setInterval(() => {
        spinner.suffixText = `(${elapsed()})`;
      }, 1_000);
      timer.unref();
      active = spinner;
      const end = () => {
        clearInterval(heartbeat);
        clearInterval(timer);
        if (active === spinner) active = undefined;
      };
      return {
        update(next) {
          spinner.text = next;
          last = next;
        },
        log: (line) => print(`   ${line}`),
        succeed(line) {
          end();
          spinner.stopAndPersist({ symbol: c.green("✓"), text: ` ${line}`, suffixText: "" });
        },
        fail(line) {
          end();
          spinner.stopAndPersist({ symbol: c.red("✗"), text: ` ${line}`, suffixText: "" });
        },
      };
    },
  };
}

/**
 * Runs `work` under a spinner (as zx's `spinner()` does): it succeeds with
 * `done(result)` (or the label), fails with `failed` (or "<label>: failed")
 * and the error goes on to the caller.
 */
export async function withSpinner<T>(
  ui: Narrator,
  label: string,
  work: (spinner: Spinner) => Promise<T>,
  text: { readonly done?: (result: T) => string; readonly failed?: string } = {},
): Promise<T> {
  const spinner = ui.spin(label);
  try {
    const result = await work(spinner);
    spinner.succeed(text.done ? text.done(result) : label);
    return result;
  } catch (error) {
    spinner.fail(text.failed ?? `${label}: failed`);
    throw error;
  }
}
