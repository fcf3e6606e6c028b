// The ECS service's tasks on the Docker engine: a task is a container started
// from its revision's container definition (image, environment with the
// secrets' values, user, stop timeout, read-only root file system, memory) on
// the prefix's task network, with no published port. Each task carries its
// revision and its task definition in labels (secrets as ARNs, never their
// values), so a later run finds which revision a task runs and a rollback
// starts the previous revision's tasks the same way as any other.
import type Dockerode from "dockerode";
import { StepError } from "../../errors.ts";
import { scaled } from "../clock.ts";
import { connectDocker, containerLogs, removeContainers } from "../engine/client.ts";
import { REVISION_LABEL, STABLE_REVISION_LABEL, TASK_DEFINITION_LABEL } from "../engine/labels.ts";
import { findRehearsal, rehearsalLabels } from "../engine/rehearsal.ts";
import {
  revisionOf,
  type StartedTask,
  type Task,
  type TaskRevision,
  type TaskRuntime,
  type TaskStart,
} from "./runtime.ts";

/** Where the prefix's tasks run, and how their secrets' values are found. */
export interface DockerTaskSettings {
  readonly prefix: string;
  /** The task network (the load balancer stand-in's). */
  readonly network: string;
  /** Seconds of AWS time per second of rehearsal time (the stop timeout runs that much faster). */
  readonly speedup: number;
  /** A secret's value by its ARN, read from Secrets Manager as ECS reads it when a task starts. */
  readonly secretValue: (arn: string) => string | undefined;
}

/** A task's revision as its label holds it; undefined when it has none or it does not parse. */
function taskDefinitionOf(labels: Readonly<Record<string, string>>): TaskRevision | undefined {
  const json = labels[TASK_DEFINITION_LABEL];
  if (!json) return undefined;
  try {
    return JSON.parse(json) as TaskRevision;
  } catch {
    return undefined;
  }
}

/** When a container started (Docker's State.StartedAt), in epoch milliseconds; undefined if it never did. */
async function startedAt(id: string): Promise<number | undefined> {
  const info = await (
    await connectDocker()
  ).container.dockerode
    .getContainer(id)
    .inspect()
    .catch(() => undefined);
  const at = Date.parse(info?.State.StartedAt ?? "");
  return Number.isNaN(at) || at <= 0 ? undefined : at;
}

/** The prefix's tasks, running or not, with when each started (the deployment's clock is the wall clock). */
export async function listDockerTasks(prefix: string): Promise<Task[]> {
  const containers = (await findRehearsal(prefix)).filter((c) => c.role === "task");
  return Promise.all(
    containers.map(async (c) => {
      const taskDefinition = taskDefinitionOf(c.labels);
      const started = await startedAt(c.id);
      const stable = c.labels[STABLE_REVISION_LABEL];
      return {
        id: c.id,
        image: c.image,
        revision: c.labels[REVISION_LABEL] ?? "",
        running: c.running,
        ...(taskDefinition ? { taskDefinition } : {}),
        ...(started !== undefined ? { startedAt: started } : {}),
        ...(stable ? { stableRevision: stable } : {}),
      };
    }),
  );
}

/** A task container's address on the task network, once it runs. */
const addressOn = (info: Dockerode.ContainerInspectInfo, network: string): string | undefined =>
  info.NetworkSettings.Networks[network]?.IPAddress || undefined;

/** The secrets' values as environment variables; a secret whose value is not known fails the start, as on ECS. */
function secretEnvironment(revision: TaskRevision, settings: DockerTaskSettings): string[] {
  return Object.entries(revision.container.secrets).map(([variable, arn]) => {
    const value = settings.secretValue(arn);
    if (value === undefined)
      throw new StepError(
        `A task of ${revision.container.image} could not start: the value of its secret ${variable} (${arn}) was not read.`,
        "Run the same command again; if the secret was removed, release again to recreate it.",
      );
    return `${variable}=${value}`;
  });
}

/**
 * Starts one task of a revision. ECS injects secrets into the container's
 * environment at start; so does this (the value is never printed, logged or
 * labelled). Returns the task and its address on the task network.
 */
export async function startDockerTask(
  revision: TaskRevision,
  settings: DockerTaskSettings,
  start: TaskStart = {},
): Promise<StartedTask> {
  const docker = (await connectDocker()).container.dockerode;
  const c = revision.container;
  const container = await docker.createContainer({
    Image: c.image,
    Env: [...Object.entries(c.environment).map(([k, v]) => `${k}=${v}`), ...secretEnvironment(revision, settings)],
    ...(c.user ? { User: c.user } : {}),
    Labels: {
      ...rehearsalLabels(settings.prefix, "task"),
      [REVISION_LABEL]: revisionOf(c),
      [TASK_DEFINITION_LABEL]: JSON.stringify(revision),
      ...(start.stableRevision ? { [STABLE_REVISION_LABEL]: start.stableRevision } : {}),
    },
    // Docker's stop timeout is whole seconds.
    StopTimeout: Math.max(1, Math.ceil(scaled(c.stopTimeoutSeconds, settings.speedup) / 1000)),
    HostConfig: {
      NetworkMode: settings.network,
      ReadonlyRootfs: c.readonlyRootFilesystem,
      ...(revision.memoryMiB ? { Memory: revision.memoryMiB * 1024 * 1024 } : {}),
    },
  });
  await container.start();
  const info = await container.inspect();
  return {
    task: {
      id: container.id,
      image: c.image,
      revision: revisionOf(c),
      running: info.State.Running,
      taskDefinition: revision,
      startedAt: Date.parse(info.State.StartedAt),
      ...(start.stableRevision ? { stableRevision: start.stableRevision } : {}),
    },
    address: addressOn(info, settings.network),
  };
}

/** The prefix's tasks as containers on the Docker engine. */
export function dockerTaskRuntime(settings: DockerTaskSettings): TaskRuntime {
  const container = async (id: string) => (await connectDocker()).container.dockerode.getContainer(id);
  return {
    listTasks: () => listDockerTasks(settings.prefix),
    startTask: (revision, start) => startDockerTask(revision, settings, start),
    async exitCode(id) {
      const info = await (await container(id)).inspect().catch(() => undefined);
      return info && !info.State.Running ? info.State.ExitCode : undefined;
    },
    logs: (id, lines) => containerLogs(id, lines),
    async stopTask(id) {
      // SIGTERM, the container's stop timeout, then SIGKILL; then the container is removed.
      await (await container(id)).stop().catch(() => undefined);
      await removeContainers([id]);
    },
    async address(id) {
      const info = await (await container(id)).inspect().catch(() => undefined);
      return info ? addressOn(info, settings.network) : undefined;
    },
  };
}
