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
  },
});
