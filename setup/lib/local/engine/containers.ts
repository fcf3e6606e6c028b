// Starting the project's containers: published on 127.0.0.1 only, labelled
// with the run that owns them, stoppable more than once.
import { GenericContainer, type StartedTestContainer, type WaitStrategy } from "testcontainers";
import { RUN_LABEL } from "./labels.ts";

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

export interface ContainerSpec {
  readonly image: string;
  /** The container port to publish on 127.0.0.1. */
  readonly port: number;
  /** The host port to publish it on; a free one is chosen when unset. */
  readonly hostPort?: number;
  readonly runId: string;
  readonly wait: WaitStrategy;
  readonly env?: Record<string, string>;
  /** Extra labels, e.g. which rehearsal and role the container belongs to. */
  readonly labels?: Record<string, string>;
  readonly startupTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL; 10 s as ECS does. */
  readonly stopTimeoutMs?: number;
  /** Named Docker volumes to mount: [volume name, container path]. */
  readonly volumes?: ReadonlyArray<readonly [string, string]>;
}

export interface RunningContainer {
  /** http://127.0.0.1:<published port> */
  readonly url: string;
  readonly id: string;
  readonly started: StartedTestContainer;
  /** Sends SIGTERM, waits up to stopTimeoutMs (then SIGKILL) and removes the container; safe to call twice. */
  stop(): Promise<void>;
}

export async function startContainer(spec: ContainerSpec): Promise<RunningContainer> {
  const started = await new LoopbackContainer(spec.image)
    .withExposedPorts(spec.hostPort ? { container: spec.port, host: spec.hostPort } : spec.port)
    .withEnvironment(spec.env ?? {})
    .withLabels({ ...spec.labels, [RUN_LABEL]: spec.runId })
    .withBindMounts((spec.volumes ?? []).map(([source, target]) => ({ source, target })))
    .withWaitStrategy(spec.wait)
    .withStartupTimeout(spec.startupTimeoutMs ?? 60_000)
    .start();
  return {
    url: `http://127.0.0.1:${started.getMappedPort(spec.port)}`,
    ...stoppable(started, spec.stopTimeoutMs ?? 10_000),
  };
}

/** Id, handle, and a stop() that may be called more than once. */
function stoppable(started: StartedTestContainer, timeoutMs: number): Omit<RunningContainer, "url"> {
  let stopping: Promise<unknown> | undefined;
  return {
    id: started.getId(),
    started,
    async stop() {
      stopping ??= started.stop({ timeout: timeoutMs });
      await stopping;
    },
  };
}

export interface HostNetworkSpec {
  readonly image: string;
  readonly runId: string;
  readonly env?: Record<string, string>;
  readonly command?: string[];
  /** Files to copy in before start: [host path, container path]. */
  readonly files?: Array<[string, string]>;
}

/**
 * A container on the host's network: it listens on 127.0.0.1 itself, with no
 * docker-proxy in the path. For measurements, where the proxy would cost more
 * than the server under test; the caller tells the server HOST=127.0.0.1.
 */
export async function startHostNetworkContainer(spec: HostNetworkSpec): Promise<Omit<RunningContainer, "url">> {
  let container = new GenericContainer(spec.image)
    .withNetworkMode("host")
    .withEnvironment(spec.env ?? {})
    .withLabels({ [RUN_LABEL]: spec.runId })
    .withCopyFilesToContainer((spec.files ?? []).map(([source, target]) => ({ source, target })));
  if (spec.command) container = container.withCommand(spec.command);
  return stoppable(await container.start(), 10_000);
}
