import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "lessons/**/*.test.ts"],
    globalSetup: ["lessons/support/global-setup.ts"],
    // Container start-up dominates; a test's own work is short.
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // Two cores: one file at a time per core keeps emulator start-up predictable.
    maxWorkers: 2,
    // Where runs are recorded (setup/lib/run-records.ts): this test run's own, never the person's home.
    env: {
      LAB_STATE_DIR: join(tmpdir(), `aws-cicd-lab-test-runs-${process.pid}`),
      LAB_PICTURES_DIR: join(tmpdir(), `aws-cicd-lab-test-pictures-${process.pid}`),
    },
  },
});
