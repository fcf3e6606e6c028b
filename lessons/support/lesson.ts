// Shared by the lesson tests: the environment that points a run at this
// file's emulator, the read-only check context, a sink for narration, and the
// clean-up of the rehearsal's containers.
import { afterAll } from "vitest";
import type { CheckContext } from "../../setup/checks/check.ts";
import { readConfig } from "../../setup/lib/config.ts";
import { removeContainers } from "../../setup/lib/local/engine/client.ts";
import { removeTaskNetwork } from "../../setup/lib/local/elbv2/load-balancer.ts";
import { findRehearsal } from "../../setup/lib/local/engine/rehearsal.ts";
import { lesson } from "../../setup/lesson.ts";
import { STEPS } from "../../setup/steps.ts";
import { targetFor } from "../../setup/targets/index.ts";
import type { EmulatorFixture } from "./emulator.ts";
import { narrationSink } from "./narration-sink.ts";

export interface LessonHarness {
  env(): NodeJS.ProcessEnv;
  checkContext(): CheckContext;
  /**
   * Runs `bin/lesson NN --prepare` on this prefix, as a learner catching up does; fails with the
   * narration unless it exits 0. Returns which lessons' checks pass afterwards.
   */
  prepareFor(lesson: string): Promise<string[]>;
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
    async prepareFor(id) {
      const code = await lesson([id, "--prepare", "--prefix", prefix], env(), { output });
      if (code !== 0) throw new Error(`bin/lesson ${id} --prepare failed (exit ${code}):\n${sink.text()}`);
      const context = this.checkContext();
      const done: string[] = [];
      for (const step of STEPS) if ((await step.check(context)).pass) done.push(step.id);
      return done;
    },
    get narration() {
      return sink.text();
    },
    output,
  };
}
