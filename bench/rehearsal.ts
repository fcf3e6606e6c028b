// Times one full local rehearsal: bin/run's steps (each step's own time) and
// bin/teardown. The caller decides whether the build cache is warm or cold.
import { Writable } from "node:stream";
import { run } from "../setup/run.ts";
import { runTeardown } from "../setup/teardown.ts";

export interface RehearsalTiming {
  readonly steps: Record<string, number>;
  readonly run: number;
  readonly teardown: number;
  readonly total: number;
}

const sink = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;

export async function timeRehearsal(prefix: string): Promise<RehearsalTiming> {
  const env = { ...process.env, CI: "true", NO_COLOR: "1", REGION: undefined, AWS_ENDPOINT_URL: undefined };
  let steps: Record<string, number> = {};
  const started = performance.now();
  const code = await run(["--prefix", prefix, "--keep"], env, {
    output: sink,
    onTimings: (t) => {
      steps = Object.fromEntries(t);
    },
  });
  const ran = performance.now();
  if (code !== 0) throw new Error(`bin/run --prefix ${prefix} exited ${code}`);
  const down = await runTeardown(["--prefix", prefix, "--target", "local"], env, { output: sink });
  if (down !== 0) throw new Error(`bin/teardown --prefix ${prefix} exited ${down}`);
  const done = performance.now();
  return { steps, run: (ran - started) / 1000, teardown: (done - ran) / 1000, total: (done - started) / 1000 };
}
