// vitest global setup: runs once, before any test file, in the main process.
// It makes sure Docker answers (or stops the run with one clear sentence),
// decides whether Ryuk can be used, and afterwards removes every container
// this run started, whatever happened to the tests.
import type { TestProject } from "vitest/node";
import { PrerequisiteError } from "../../setup/lib/errors.ts";
import {
  connectDocker,
  newRunId,
  removeLabelledContainers,
  removeOrphanedContainers,
  useRyukIfAvailable,
} from "../../setup/lib/local/engine/client.ts";

declare module "vitest" {
  export interface ProvidedContext {
    labRunId: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let client: Awaited<ReturnType<typeof connectDocker>>;
  try {
    client = await connectDocker();
  } catch (error) {
    if (error instanceof PrerequisiteError) {
      // One sentence, no stack trace: vitest prints the message of an error
      // thrown here and fails the run before any test file is collected.
      const short = new Error(`${error.message} ${error.hint}`);
      short.stack = short.message;
      throw short;
    }
    throw error;
  }
  await useRyukIfAvailable(client, process.env);
  const orphans = await removeOrphanedContainers(client);
  if (orphans > 0)
    console.warn(`[global-setup] removed ${orphans} container(s) left by an earlier run that was killed`);

  const runId = newRunId("test");
  project.provide("labRunId", runId);

  return async () => {
    const removed = await removeLabelledContainers(client, runId);
    if (removed > 0) console.warn(`[global-setup] removed ${removed} container(s) a test left running`);
  };
}
