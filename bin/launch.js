// @ts-check
// Every bin/ entry point starts here: plain JavaScript, so that an old Node
// gets one sentence saying what is needed instead of a syntax error, and then
// the TypeScript entry runs on Node's own type stripping (no build step).
// Type-checked (tsconfig checks this file), so each entry's call is checked too.
// A namespace import: an old Node (the one told to upgrade below) lacks enableCompileCache.
import * as nodeModule from "node:module";
import { fileURLToPath } from "node:url";

/** The oldest Node that runs TypeScript files without a flag (type stripping on by default). */
const NEEDED = "22.18";

/** Each entry point: its TypeScript module, loaded only once Node is known to run it. */
const ENTRIES = {
  /** @param {string[]} argv */
  run: async (argv) => (await import("../setup/run.ts")).run(argv, process.env),
  /** @param {string[]} argv */
  teardown: async (argv) => (await import("../setup/teardown.ts")).runTeardown(argv, process.env),
  /** @param {string[]} argv */
  lesson: async (argv) => (await import("../setup/lesson.ts")).lesson(argv, process.env),
  /**
   * The demo image's entry: `demo [flags]` (or `demo run [flags]`) runs the walk-through,
   * `demo lesson NN [flags]` a lesson, `demo teardown [flags]` removes what they made.
   */
  demo: async (/** @type {string[]} */ argv) => {
    const [first, ...rest] = argv;
    if (first === "teardown" || first === "lesson" || first === "run") return ENTRIES[first](rest);
    return ENTRIES.run(argv);
  },
  doctor: async () => (await import("../setup/doctor.ts")).doctor(process.env),
  images: async () =>
    (await import("../setup/images.ts")).images(fileURLToPath(new URL("..", import.meta.url)), process.env),
};

/**
 * Runs an entry point with the command line's arguments and exits with its code.
 * @param {keyof typeof ENTRIES} name
 * @returns {Promise<never>}
 */
export async function launch(name) {
  if (!process.features.typescript) {
    process.stderr.write(
      `aws-cicd-lab needs Node.js ${NEEDED} or newer with TypeScript type stripping (this is Node ${process.version}); ` +
        "put Node 24 first on PATH with `bash .ci/provision && source .ci/env` (it installs it into .cache/), or install it from nodejs.org.\n",
    );
    process.exit(2);
  }
  // Compiled code of the project and its dependencies kept in the OS's temporary directory:
  // about half a second less at every start after the first.
  nodeModule.enableCompileCache?.();
  process.exit(await ENTRIES[name](process.argv.slice(2)));
}
