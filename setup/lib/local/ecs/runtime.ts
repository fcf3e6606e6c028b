// What the ECS service's deployment rules (deployment.ts) run against, named
// in ECS's and ELB's words: a task runtime that runs the service's tasks (in
// the rehearsal, containers on the Docker engine: docker-tasks.ts), the target
// group the tasks are registered with (the load balancer stand-in), and a
// clock. The rules know nothing else, so they run the same against the real
// engine and against stand-ins that answer in milliseconds.
import { createHash } from "node:crypto";
import type { ContainerDefinition } from "./definition.ts";

/** A task definition revision as a task is started from it: its one container and the task's memory. */
export interface TaskRevision {
  readonly container: ContainerDefinition;
  /** Task memory in MiB from the task definition, when set. */
  readonly memoryMiB?: number;
}

/** A container definition's digest: any change to it is a new revision, as RegisterTaskDefinition makes one. */
export function revisionOf(container: ContainerDefinition): string {
  return createHash("sha256").update(JSON.stringify(container)).digest("hex").slice(0, 16);
}

export interface Task {
  /** The task's id; its first 12 characters name the task and its target. */
  readonly id: string;
  readonly image: string;
  readonly revision: string;
  readonly running: boolean;
  /** The revision the task was started from, as DescribeTasks' taskDefinitionArn leads to it; unknown for tasks started without one. */
  readonly taskDefinition?: TaskRevision;
  /** When it started, on the deployment clock's time line (DescribeTasks' startedAt); unknown for a task not started yet. */
  readonly startedAt?: number;
  /**
   * The revision the service was steady on when the deployment that started this task began (what
   * ECS keeps as the service's ACTIVE deployment); none for the service's first deployment.
   */
  readonly stableRevision?: string;
}

/** What the deployment starting a task tells about it. */
export interface TaskStart {
  /** The revision the service was steady on when this deployment began. */
  readonly stableRevision?: string;
}

/** The task's target id in the target group. */
export const taskName = (id: string): string => `task-${id.slice(0, 12)}`;

export interface StartedTask {
  readonly task: Task;
  /** The task's private address (awsvpc), once it runs. */
  readonly address: string | undefined;
}

/** Runs the service's tasks (RunTask, DescribeTasks, StopTask, the task's log stream). */
export interface TaskRuntime {
  /** The service's tasks, running or stopped. */
  listTasks(): Promise<Task[]>;
  /** Starts one task of a revision, its secrets injected into its environment; returns it and its address. */
  startTask(revision: TaskRevision, start?: TaskStart): Promise<StartedTask>;
  /** The essential container's exit code once the task has stopped; undefined while it runs. */
  exitCode(id: string): Promise<number | undefined>;
  /** The task's last log lines (stdout and stderr); none when it is gone. */
  logs(id: string, lines: number): Promise<string[]>;
  /** Stops a task as ECS does (SIGTERM, the stop timeout, SIGKILL); then it is gone. A task already gone is not an error. */
  stopTask(id: string): Promise<void>;
  /** The task's private address, once it runs. */
  address(id: string): Promise<string | undefined>;
}

/** A target's state, in the ALB's words (DescribeTargetHealth's TargetHealth.State). */
export type TargetHealthState = "initial" | "healthy" | "unhealthy" | "unused" | "draining" | "unavailable";

/** The service's target group (RegisterTargets, DeregisterTargets, DescribeTargetHealth). */
export interface TargetGroup {
  /** Registers a task's address; it gets requests once its health checks pass. */
  registerTarget(id: string, address: string): Promise<void>;
  /** Deregisters a target: drained first (up to the deregistration delay), or at once with `drain: false`. */
  deregisterTarget(id: string, options?: { readonly drain?: boolean }): Promise<void>;
  /** Each registered target's health by its id. */
  describeTargetHealth(): Promise<ReadonlyMap<string, TargetHealthState>>;
}

/** Time as the deployment sees it: milliseconds, and a pause between looks at the service. */
export interface DeploymentClock {
  /** Milliseconds on the same time line as tasks' startedAt (the wall clock for real tasks). */
  now(): number;
  sleep(ms: number): Promise<void>;
}
