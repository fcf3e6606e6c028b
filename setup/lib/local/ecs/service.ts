// The local stand-in for the ECS service: tasks are containers started from
// the task definition (image, port, environment, secrets, read-only root file
// system, user, stop timeout, memory) on the prefix's task network,
// registered with the load balancer stand-in, and replaced by ECS's rolling
// deployment under the service's deployment configuration: start new tasks
// (up to maximumPercent), wait until the target group calls them healthy,
// drain and stop old ones (never below minimumHealthyPercent), and count
// tasks that exit or fail their health checks after the grace period against
// the deployment circuit breaker, which fails the deployment and, with
// rollback on, returns to the tasks that were running before. Every event is
// said in ECS's own words. Timers (grace period, stop timeout) run `speedup`
// times faster, like the load balancer's.
import { createHash } from "node:crypto";
import type Dockerode from "dockerode";
import { StepError } from "../../errors.ts";
import { connectDocker, containerLogs, removeContainers } from "../engine/client.ts";
import { setTimeout as sleep } from "node:timers/promises";
import {
  deregisterTarget,
  describeTargetHealth,
  type LoadBalancer,
  registerTarget,
  targetHealthById,
} from "../elbv2/load-balancer.ts";
import { MIN_GRACE_MS, scaled } from "../clock.ts";
import { findRehearsal, rehearsalLabels } from "../engine/rehearsal.ts";
import { REVISION_LABEL } from "../engine/labels.ts";
import type { ContainerDefinition, ServiceDefinition } from "./definition.ts";

/** A container definition's digest: any change to it is a new revision, as RegisterTaskDefinition makes one. */
export function revisionOf(container: ContainerDefinition): string {
  return createHash("sha256").update(JSON.stringify(container)).digest("hex").slice(0, 16);
}

export interface Task {
  /** The container id; its first 12 characters name the task and its target. */
  readonly id: string;
  readonly image: string;
  readonly revision: string;
  readonly running: boolean;
}

export const taskName = (id: string): string => `task-${id.slice(0, 12)}`;

/** Tasks as ECS's events name them: "(task 0123456789ab) (task …)". */
const taskList = (ids: readonly string[]): string => ids.map((id) => `(task ${id.slice(0, 12)})`).join(" ");

/** The prefix's tasks, running or not. */
export async function listTasks(prefix: string): Promise<Task[]> {
  return (await findRehearsal(prefix))
    .filter((c) => c.role === "task")
    .map((c) => ({ id: c.id, image: c.image, revision: c.labels[REVISION_LABEL] ?? "", running: c.running }));
}

/** What a task is started with: the service's container definition, its secrets' values, and where it runs. */
export interface TaskLaunch {
  readonly prefix: string;
  readonly service: ServiceDefinition;
  /** Secret environment variable → value, read from Secrets Manager as ECS reads them at start. */
  readonly secretValues: Readonly<Record<string, string>>;
  readonly network: string;
  readonly speedup: number;
  /** Task memory in MiB from the task definition, when set. */
  readonly memoryMiB?: number;
}

/**
 * Starts one task from the task definition. ECS injects secrets into the
 * container's environment at start; so does this (the value is never
 * printed or logged). Returns the task and its address on the task network.
 */
export async function startTask(launch: TaskLaunch): Promise<{ task: Task; address: string | undefined }> {
  const docker = (await connectDocker()).container.dockerode;
  const c = launch.service.container;
  const container = await docker.createContainer({
    Image: c.image,
    Env: [
      ...Object.entries(c.environment).map(([k, v]) => `${k}=${v}`),
      ...Object.entries(launch.secretValues).map(([k, v]) => `${k}=${v}`),
    ],
    ...(c.user ? { User: c.user } : {}),
    Labels: { ...rehearsalLabels(launch.prefix, "task"), [REVISION_LABEL]: revisionOf(c) },
    // Docker's stop timeout is whole seconds.
    StopTimeout: Math.max(1, Math.ceil(scaled(c.stopTimeoutSeconds, launch.speedup) / 1000)),
    HostConfig: {
      NetworkMode: launch.network,
      ReadonlyRootfs: c.readonlyRootFilesystem,
      ...(launch.memoryMiB ? { Memory: launch.memoryMiB * 1024 * 1024 } : {}),
    },
  });
  await container.start();
  const info = await container.inspect();
  return {
    task: { id: container.id, image: c.image, revision: revisionOf(c), running: info.State.Running },
    address: addressOn(info, launch.network),
  };
}

/** A task container's address on the task network, once it runs. */
const addressOn = (info: Dockerode.ContainerInspectInfo, network: string): string | undefined =>
  info.NetworkSettings.Networks[network]?.IPAddress || undefined;

async function exitCode(container: Dockerode.Container): Promise<number | undefined> {
  const info = await container.inspect().catch(() => undefined);
  return info && !info.State.Running ? info.State.ExitCode : undefined;
}

/** Stops a task as ECS does: SIGTERM, the stop timeout, then SIGKILL; then removes its container. */
async function stopTask(id: string): Promise<void> {
  const docker = (await connectDocker()).container.dockerode;
  await docker
    .getContainer(id)
    .stop()
    .catch(() => undefined);
  await removeContainers([id]);
}

/**
 * Starts `count` more tasks of the revision task `like` runs (its container's
 * image, environment, user and limits), registers them and waits until the
 * target group calls them healthy: what a rollback deployment does when the
 * failed deployment had already stopped some of the previous revision's tasks.
 */
async function restoreTasks(
  like: string,
  count: number,
  lb: LoadBalancer,
  network: string,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const docker = (await connectDocker()).container.dockerode;
  const info = await docker.getContainer(like).inspect();
  const ids = await Promise.all(
    Array.from({ length: count }, async () => {
      const container = await docker.createContainer({
        Image: info.Config.Image,
        Env: info.Config.Env,
        User: info.Config.User,
        Labels: info.Config.Labels,
        StopTimeout: (info.Config as { StopTimeout?: number }).StopTimeout,
        HostConfig: {
          NetworkMode: network,
          ReadonlyRootfs: info.HostConfig.ReadonlyRootfs,
          Memory: info.HostConfig.Memory,
        },
      });
      await container.start();
      const address = addressOn(await container.inspect(), network);
      if (address) await registerTarget(lb, taskName(container.id), address);
      return container.id;
    }),
  );
  // The previous revision served until now: its new tasks come up as it did, within a minute.
  const deadline = performance.now() + 60_000;
  for (;;) {
    signal?.throwIfAborted();
    const health = await targetHealthById(lb);
    if (ids.every((id) => health.get(taskName(id)) === "healthy")) return ids;
    if (performance.now() > deadline)
      throw new StepError(
        "The rollback's tasks did not turn healthy within a minute.",
        "Run the same command again: the next release starts from what runs.",
      );
    // Not aborted by the signal (that would throw an AbortError): the loop's top throws the signal's reason.
    await sleep(100);
  }
}

export interface RolloutInput extends TaskLaunch {
  readonly lb: LoadBalancer;
  /** Service events, in ECS's words, as they happen. */
  readonly say: (event: string) => void;
  readonly signal?: AbortSignal;
}

export interface RolloutResult {
  readonly outcome: "steady" | "unchanged" | "rolled back";
  readonly started: number;
  readonly stopped: number;
  readonly failedTasks: number;
  /** Why the failed tasks failed, with their last log lines, when any did. */
  readonly failures: readonly string[];
  readonly ms: number;
}

/** ECS's circuit breaker threshold: half the desired count, at least 3, at most 200. */
export const circuitBreakerThreshold = (desired: number): number =>
  Math.min(200, Math.max(3, Math.ceil(desired * 0.5)));

interface NewTask {
  readonly task: Task;
  readonly startedAt: number;
}

/**
 * Rolls the service out to its task definition as ECS's rolling deployment
 * does. Tasks already running the wanted revision are kept (a re-run after an
 * interruption carries on). Throws a StepError when the deployment fails with
 * nothing to roll back to.
 */
export async function rollOutService(input: RolloutInput): Promise<RolloutResult> {
  const began = performance.now();
  const { service, lb, say, signal } = input;
  const docker = (await connectDocker()).container.dockerode;
  const wanted = revisionOf(service.container);
  const name = `(service ${service.serviceName})`;
  const desired = service.desiredCount;
  const maxTasks = Math.floor((desired * service.maximumPercent) / 100);
  const minHealthy = Math.ceil((desired * service.minimumHealthyPercent) / 100);
  const threshold = circuitBreakerThreshold(desired);
  // The grace period runs faster like every timer, but a container does not start any faster than it
  // does: never less than MIN_GRACE_MS, so a task slow to start on a busy machine is not counted failed.
  const grace = Math.max(MIN_GRACE_MS, scaled(service.healthCheckGracePeriodSeconds, input.speedup));

  // Tasks left stopped by an interrupted run are gone for good, as stopped ECS tasks are.
  const all = await listTasks(input.prefix);
  await removeContainers(all.filter((t) => !t.running).map((t) => t.id));
  const registered = new Set((await describeTargetHealth(lb)).map((t) => t.id));
  const running = all.filter((t) => t.running);
  // A task of this prefix the load balancer does not know (registering was interrupted) is registered now.
  for (const t of running.filter((t) => !registered.has(taskName(t.id)))) {
    const address = addressOn(await docker.getContainer(t.id).inspect(), input.network);
    if (address) await registerTarget(lb, taskName(t.id), address);
  }
  let old = running.filter((t) => t.revision !== wanted);
  const fresh: NewTask[] = running.filter((t) => t.revision === wanted).map((task) => ({ task, startedAt: 0 }));
  let started = 0;
  let stopped = 0;
  let failedTasks = 0;
  const failures: string[] = [];

  const steady = async () => {
    const h = await targetHealthById(lb);
    return old.length === 0 && fresh.length === desired && fresh.every((n) => h.get(taskName(n.task.id)) === "healthy");
  };
  if (await steady()) return { outcome: "unchanged", started, stopped, failedTasks, failures, ms: 0 };

  /** Takes a new task out: no draining (it never served, or is failing), stopped, forgotten. */
  const retire = async (n: NewTask, reason: string) => {
    say(`${name} has stopped 1 running tasks: ${taskList([n.task.id])}: ${reason}`);
    await deregisterTarget(lb, taskName(n.task.id), { drain: false }).catch(() => undefined);
    await stopTask(n.task.id);
    fresh.splice(fresh.indexOf(n), 1);
  };
  /** A task that failed: counted against the circuit breaker, with its reason and last log lines kept. */
  const fail = async (n: NewTask, reason: string) => {
    failedTasks += 1;
    const logs = await containerLogs(n.task.id, 5);
    failures.push([`${taskName(n.task.id)}: ${reason}`, ...logs.map((l) => `  ${l}`)].join("\n"));
    await retire(n, reason);
  };

  for (;;) {
    signal?.throwIfAborted();
    // Start new tasks while the deployment has room (maximumPercent).
    const room = Math.min(desired - fresh.length, maxTasks - (fresh.length + old.length));
    // ECS launches a deployment's tasks together, not one after the other.
    const launched = await Promise.all(
      Array.from({ length: Math.max(0, room) }, async () => {
        const { task, address } = await startTask(input);
        const n = { task, startedAt: performance.now() };
        if (address) await registerTarget(lb, taskName(task.id), address);
        return n;
      }),
    );
    fresh.push(...launched);
    started += launched.length;
    if (launched.length > 0) {
      say(`${name} has started ${launched.length} tasks: ${taskList(launched.map((n) => n.task.id))}.`);
      say(`${name} registered ${launched.length} targets in (target-group ${service.targetGroupArn})`);
    }

    // Tasks that exited, or failed their health checks after the grace period, are stopped and count as failed.
    const h = await targetHealthById(lb);
    await Promise.all(
      [...fresh].map(async (n) => {
        const code = await exitCode(docker.getContainer(n.task.id));
        if (code !== undefined) await fail(n, `Essential container in task exited (exit code ${code})`);
        else if (h.get(taskName(n.task.id)) === "unhealthy" && performance.now() - n.startedAt > grace)
          await fail(n, `Task failed ELB health checks in (target-group ${service.targetGroupArn})`);
      }),
    );

    if (service.circuitBreaker.enable && failedTasks >= threshold) {
      say(`${name} (deployment of ${service.container.image}) deployment failed: tasks failed to start.`);
      await Promise.all([...fresh].map((n) => retire(n, "Scaling activity initiated by (deployment failed)")));
      if (!service.circuitBreaker.rollback || old.length === 0)
        throw new StepError(
          `The ECS deployment of ${service.container.image} failed: ${failedTasks} tasks failed to start, and there is no earlier deployment to roll back to.`,
          "Read the tasks' reasons above, fix the change, and release again.",
        );
      say(`${name} rolling back to the deployment that ran ${old[0]?.image ?? "before"}.`);
      // The rollback is a deployment of the previous revision: back to the desired count with its tasks.
      const missing = desired - old.length;
      if (missing > 0 && old[0]) {
        const restored = await restoreTasks(old[0].id, missing, lb, input.network, signal);
        started += restored.length;
        say(`${name} has started ${restored.length} tasks: ${taskList(restored)}.`);
      }
      say(`${name} has reached a steady state.`);
      return { outcome: "rolled back", started, stopped, failedTasks, failures, ms: performance.now() - began };
    }

    // Old tasks go, drained then stopped, as new ones turn healthy, or first when maximumPercent leaves
    // no room to start the new ones; never below minimumHealthyPercent.
    const healthyNew = fresh.filter((n) => h.get(taskName(n.task.id)) === "healthy").length;
    const healthyOld = old.filter((t) => h.get(taskName(t.id)) === "healthy").length;
    const roomNeeded = desired - fresh.length - Math.max(0, maxTasks - (fresh.length + old.length));
    const stoppable = Math.min(old.length, healthyNew + healthyOld - minHealthy, Math.max(healthyNew, roomNeeded));
    if (stoppable > 0) {
      const going = old.slice(0, stoppable);
      say(`${name} deregistered ${going.length} targets in (target-group ${service.targetGroupArn})`);
      await Promise.all(going.map((t) => deregisterTarget(lb, taskName(t.id))));
      await Promise.all(going.map((t) => stopTask(t.id)));
      say(`${name} has stopped ${going.length} running tasks: ${taskList(going.map((t) => t.id))}.`);
      stopped += going.length;
      old = old.filter((t) => !going.includes(t));
    }

    // An interruption during the last draining or stop still ends the rollout here: a re-run finds it done.
    signal?.throwIfAborted();
    if (await steady()) {
      say(`${name} has reached a steady state.`);
      return { outcome: "steady", started, stopped, failedTasks, failures, ms: performance.now() - began };
    }
    await sleep(100);
  }
}
