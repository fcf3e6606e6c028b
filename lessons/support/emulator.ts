// Test fixture: one emulator per test file, started before its tests and
// stopped after them even when they fail.
import { afterAll, beforeAll, inject } from "vitest";
import { type Config, readConfig, readImages } from "../../setup/lib/config.ts";
import { connectDocker, requireImage } from "../../setup/lib/local/engine/client.ts";
import { MotoContainer, type StartedMotoContainer } from "../../setup/lib/local/emulator/moto.ts";

export interface EmulatorFixture {
  /** The running emulator; valid inside tests, after beforeAll. */
  readonly emulator: StartedMotoContainer;
  /** The project's Config as a user pointing AWS_ENDPOINT_URL at this emulator gets it. */
  readonly config: Config;
}

export function useEmulator(): EmulatorFixture {
  let emulator: StartedMotoContainer | undefined;
  let config: Config | undefined;

  beforeAll(async () => {
    const images = readImages(process.env);
    await requireImage(await connectDocker(), images.moto, "LAB_MOTO_IMAGE");
    emulator = await new MotoContainer(images.moto).withRunId(inject("labRunId")).start();
    config = readConfig([], {
      ...process.env,
      AWS_ENDPOINT_URL: emulator.endpoint,
      AWS_PROFILE: undefined,
      REGION: undefined,
    });
  }, 90_000);

  afterAll(async () => {
    await emulator?.stop();
  }, 30_000);

  return {
    get emulator() {
      if (!emulator)
        throw new Error("the emulator is not running: useEmulator() must be called at the top of a test file");
      return emulator;
    },
    get config() {
      if (!config)
        throw new Error("the emulator is not running: useEmulator() must be called at the top of a test file");
      return config;
    },
  };
}
