// Ships N changes in a row through the local rehearsal (step 05 each time,
// a new /time message each) and records what each release's traffic counter
// and rolling deployment said: requests, failed requests, the rollout's time.
import { narrationSink } from "../lessons/support/narration-sink.ts";
import { run } from "../setup/run.ts";
import { runTeardown } from "../setup/teardown.ts";

export interface ReleaseMeasure {
  readonly requests: number;
  readonly failed: number;
  /** The rolling deployment's own time (start of new tasks to steady state), in seconds. */
  readonly rolloutSeconds: number;
  /** The whole release: pipeline and rollout, in seconds. */
  readonly releaseSeconds: number;
}

export async function measureReleases(prefix: string, count: number, progress: (line: string) => void) {
  const env = { ...process.env, CI: "true", NO_COLOR: "1", REGION: undefined, AWS_ENDPOINT_URL: undefined };
  const sink = narrationSink();
  const fail = (what: string, code: number) => new Error(`${what} exited ${code}:\n${sink.text().slice(-2000)}`);
  const prepared = await run(["--prefix", prefix, "--until", "04", "--keep"], env, { output: sink.output });
  if (prepared !== 0) throw fail("bin/run --until 04", prepared);
  const measures: ReleaseMeasure[] = [];
  try {
    for (let i = 1; i <= count; i++) {
      sink.clear();
      const started = performance.now();
      const args = ["--prefix", prefix, "--from", "05", "--until", "05", "--keep"];
      const code = await run([...args, "--message", `Release ${i} of ${count}, ${Date.now()}`], env, {
        output: sink.output,
      });
      if (code !== 0) throw fail(`release ${i}`, code);
      const text = sink.text();
      const traffic = /(\d+) requests to \S+ during the release, (\d+) failed/.exec(text);
      const rollout = /Rolling deployment: .* in (\d+\.\d) s/.exec(text);
      if (!traffic || !rollout) throw new Error(`release ${i}: no traffic count or rollout time in its narration`);
      const measure = {
        requests: Number(traffic[1]),
        failed: Number(traffic[2]),
        rolloutSeconds: Number(rollout[1]),
        releaseSeconds: (performance.now() - started) / 1000,
      };
      progress(
        `release ${i}: ${measure.requests} requests, ${measure.failed} failed, rollout ${measure.rolloutSeconds} s`,
      );
      measures.push(measure);
    }
  } finally {
    await runTeardown(["--prefix", prefix, "--target", "local"], env, { output: sink.output });
  }
  return measures;
}
