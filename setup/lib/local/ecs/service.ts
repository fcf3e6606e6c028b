// The local stand-in for the ECS service: ECS's rolling deployment and
// circuit breaker (deployment.ts) run with the service's tasks as containers
// on the Docker engine (docker-tasks.ts) and the load balancer stand-in as its
// target group. Timers (grace period, stop timeout, health checks, draining)
// run `speedup` times faster, like the load balancer's.
import { setTimeout as sleep } from "node:timers/promises";
import { deregisterTarget, type LoadBalancer, registerTarget, targetHealthById } from "../elbv2/load-balancer.ts";
import type { ServiceDefinition } from "./definition.ts";
import { deployService, type RolloutResult } from "./deployment.ts";
import { dockerTaskRuntime, listDockerTasks, startDockerTask } from "./docker-tasks.ts";
import type { DeploymentClock, StartedTask, Task, TargetGroup } from "./runtime.ts";

export { circuitBreakerThreshold, type RolloutResult } from "./deployment.ts";
export { revisionOf, type Task, taskName } from "./runtime.ts";

/** The prefix's tasks, running or not. */
export const listTasks = (prefix: string): Promise<Task[]> => listDockerTasks(prefix);

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

/** Where the launch's tasks run, their secrets' values found by ARN (a rollback's revision names them so too). */
function dockerSettings(launch: TaskLaunch) {
  const byArn = new Map<string, string>();
  for (const [variable, arn] of Object.entries(launch.service.container.secrets)) {
    const value = launch.secretValues[variable];
    if (value !== undefined) byArn.set(arn, value);
  }
  return {
    prefix: launch.prefix,
    network: launch.network,
    speedup: launch.speedup,
    secretValue: (arn: string) => byArn.get(arn),
  };
}

/**
 * Starts one task from the task definition. ECS injects secrets into the
 * container's environment at start; so does this (the value is never
 * printed or logged). Returns the task and its address on the task network.
 */
export function startTask(launch: TaskLaunch): Promise<StartedTask> {
  const revision = {
    container: launch.service.container,
    ...(launch.memoryMiB ? { memoryMiB: launch.memoryMiB } : {}),
  };
  return startDockerTask(revision, dockerSettings(launch));
}

/** The load balancer stand-in as the service's target group. */
export function loadBalancerTargetGroup(lb: LoadBalancer): TargetGroup {
  return {
    registerTarget: (id, address) => registerTarget(lb, id, address),
    deregisterTarget: async (id, options) => {
      await deregisterTarget(lb, id, options?.drain === false ? { drain: false } : {});
    },
    describeTargetHealth: () => targetHealthById(lb),
  };
}

/** Real time: the deployment's clock outside tests (the wall clock, the time line of tasks' startedAt). */
export const realClock: DeploymentClock = {
  now: () => Date.now(),
  sleep: async (ms) => {
    await sleep(ms);
  },
};

export interface RolloutInput extends TaskLaunch {
  readonly lb: LoadBalancer;
  /** Service events, in ECS's words, as they happen. */
  readonly say: (event: string) => void;
  /** What the deployment waits for, when nothing happened for a while (narration, not an ECS event). */
  readonly onWaiting?: (text: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * Rolls the service out to its task definition as ECS's rolling deployment
 * does (deployment.ts), its tasks on the Docker engine behind the load
 * balancer stand-in. Tasks already running the wanted revision are kept (a
 * re-run after an interruption carries on). Throws a StepError when the
 * deployment fails with nothing to roll back to.
 */
export function rollOutService(input: RolloutInput): Promise<RolloutResult> {
  return deployService({
    service: input.service,
    ...(input.memoryMiB ? { memoryMiB: input.memoryMiB } : {}),
    runtime: dockerTaskRuntime(dockerSettings(input)),
    targetGroup: loadBalancerTargetGroup(input.lb),
    clock: realClock,
    speedup: input.speedup,
    say: input.say,
    ...(input.onWaiting ? { onWaiting: input.onWaiting } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  });
}
