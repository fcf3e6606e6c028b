// The local AWS emulator (moto) in a container, published on 127.0.0.1 only.
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { LAB_LABEL } from "./docker.ts";

const MOTO_PORT = 5000;

/**
 * GenericContainer publishes ports on every host address; the project's
 * containers are reachable from this machine only.
 */
class LoopbackContainer extends GenericContainer {
  protected override beforeContainerCreated(): Promise<void> {
    const bindings = this.hostConfig.PortBindings as Record<string, Array<{ HostIp?: string }>> | undefined;
    for (const list of Object.values(bindings ?? {})) {
      for (const binding of list) binding.HostIp = "127.0.0.1";
    }
    return Promise.resolve();
  }
}

export interface Emulator {
  /** e.g. http://127.0.0.1:32768 — give it to the client factory as the endpoint. */
  readonly endpoint: string;
  readonly containerId: string;
  stop(): Promise<void>;
}

export async function startEmulator(options: { image: string; runId: string }): Promise<Emulator> {
  const container: StartedTestContainer = await new LoopbackContainer(options.image)
    .withExposedPorts(MOTO_PORT)
    .withLabels({ [LAB_LABEL]: options.runId })
    .withWaitStrategy(Wait.forHttp("/moto-api/", MOTO_PORT).forStatusCode(200))
    .withStartupTimeout(60_000)
    .start();
  const endpoint = `http://127.0.0.1:${container.getMappedPort(MOTO_PORT)}`;
  let stopping: Promise<unknown> | undefined;
  return {
    endpoint,
    containerId: container.getId(),
    // Safe to call more than once: a test may stop it early, the fixture always does.
    async stop() {
      stopping ??= container.stop({ timeout: 2_000 });
      await stopping;
    },
  };
}
