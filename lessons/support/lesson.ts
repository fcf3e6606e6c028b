// Shared by the lesson tests: the environment that points a run at this
// file's emulator, the read-only check context, a sink for narration, and the
// clean-up of the rehearsal's containers.
import { afterAll } from "vitest";
import type { CheckContext } from "../../setup/checks/check.ts";
import { readConfig } from "../../setup/lib/config.ts";
import { removeContainers } from "../../setup/lib/local/engine/client.ts";
import { removeTaskNetwork } from "../../setup/lib/local/elbv2/load-balancer.ts";
import { findRehearsal } from "../../setup/lib/local/engine/rehearsal.ts";
import { run } from "../../setup/run.ts";
import { targetFor } from "../../setup/targets/index.ts";
import type { EmulatorFixture } from "./emulator.ts";
import { narrationSink } from "./narration-sink.ts";

export interface LessonHarness {
  env(): NodeJS.ProcessEnv;
  checkContext(): CheckContext;
  /** Runs bin/run up to and including a step, keeping everything (as the lessons before this one would). */
  prepareUntil(step: string): Promise<void>;
  /** Narration written so far (shown when an assertion about a run fails). */
  readonly narration: string;
  readonly output: NodeJS.WriteStream;
}

export function useLesson(fixture: EmulatorFixture, prefix: string): LessonHarness {
  const sink = narrationSink();
  const output = sink.output;
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    AWS_ENDPOINT_URL: fixture.emulator.endpoint,
    REGION: undefined,
    CI: "true",
    NO_COLOR: "1",
  });
  afterAll(async () => {
    await removeContainers((await findRehearsal(prefix)).map((c) => c.id));
    // The tasks' network, once the proxy and the tasks above are gone.
    await removeTaskNetwork(prefix);
  });
  return {
    env,
    checkContext() {
      const config = readConfig(["--prefix", prefix], env());
      const target = targetFor(config);
      return { config, aws: target.clients(config.aws), target };
    },
    async prepareUntil(step) {
      const code = await run(["--prefix", prefix, "--until", step, "--keep"], env(), { output });
      if (code !== 0) throw new Error(`preparing lessons up to ${step} failed (exit ${code}):\n${sink.text()}`);
    },
    get narration() {
      return sink.text();
    },
    output,
  };
}
