// An in-memory world for ECS's deployment rules (setup/lib/local/ecs/deployment.ts):
// a task runtime, a target group and a clock that answer in microseconds, so a
// rollout of many fake seconds takes milliseconds. A task's behaviour is
// picked by its definition's environment (MODE), as in the real-engine test
// (ecs-service.test.ts). Shared by the ECS rule tests.
import type { ServiceDefinition } from "../../setup/lib/local/ecs/definition.ts";
import { deployService } from "../../setup/lib/local/ecs/deployment.ts";
import {
  revisionOf,
  type TargetGroup,
  type TargetHealthState,
  type TaskRevision,
  type TaskRuntime,
  taskName,
} from "../../setup/lib/local/ecs/runtime.ts";

export const ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1";
export const IMAGE = "aws-cicd-lab-test/task:1";
export const NAME = "(service ecs-test-app)";
export const TG = `in (target-group ${ARN})`;
/** Fake milliseconds until a target passes its checks (or, failing, is called unhealthy), a task exits, a target drains. */
export const CHECKS_MS = 300;
export const EXIT_MS = 50;
export const DRAIN_MS = 200;

/** "flaky": every other task exits, the others turn healthy; "silent": its health checks never conclude (initial for ever). */
export type Mode = "good" | "unhealthy" | "exit" | "flaky" | "silent";

export function definition(
  mode: Mode,
  version: string,
  deployment: { minimumHealthyPercent: number; maximumPercent: number; desiredCount?: number } = {
    minimumHealthyPercent: 100,
    maximumPercent: 200,
  },
  breaker = { enable: true, rollback: true },
): ServiceDefinition {
  return {
    serviceName: "ecs-test-app",
    taskDefinition: "ecs-test-app",
    desiredCount: deployment.desiredCount ?? 2,
    memoryMiB: 512,
    minimumHealthyPercent: deployment.minimumHealthyPercent,
    maximumPercent: deployment.maximumPercent,
    healthCheckGracePeriodSeconds: 10,
    circuitBreaker: breaker,
    strategy: { kind: "ROLLING" },
    container: {
      name: "app",
      image: IMAGE,
      port: 8080,
      environment: { MODE: mode, VERSION: version },
      secrets: { JWT_SECRET: "arn:aws:secretsmanager:us-east-1:123456789012:secret:JwtSecret-abc" },
      readonlyRootFilesystem: true,
      stopTimeoutSeconds: 15,
    },
    targetGroup: {
      port: 8080,
      healthCheckPath: "/health",
      intervalSeconds: 5,
      timeoutSeconds: 2,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
      successCodes: "200",
      deregistrationDelaySeconds: 5,
    },
    targetGroupArn: ARN,
    listener: { defaultResponse: { status: 503, contentType: "application/json", body: "{}" }, forwardPaths: ["/*"] },
  };
}

interface FakeTask {
  readonly id: string;
  /** 1 for the first task the world started, 2 for the next … */
  readonly ordinal: number;
  readonly revision: TaskRevision;
  readonly startedAt: number;
  readonly stableRevision?: string;
  stopped: boolean;
}

/** Tasks, targets and time, all in memory; it records what the service looked like at every change. */
export class World {
  now = 1_000;
  readonly tasks = new Map<string, FakeTask>();
  readonly targets = new Map<string, { registeredAt: number; draining: boolean }>();
  readonly startedRevisions: TaskRevision[] = [];
  /** Operations done; an interrupted deployment must do none after it has thrown. */
  operations = 0;
  minServing = Number.POSITIVE_INFINITY;
  maxRunning = 0;
  private count = 0;

  readonly clock = {
    now: () => this.now,
    sleep: async (ms: number) => {
      this.now += ms;
      this.observe();
      await Promise.resolve();
    },
  };

  private mode = (t: FakeTask) => t.revision.container.environment.MODE as Mode;
  private exits = (t: FakeTask) => this.mode(t) === "exit" || (this.mode(t) === "flaky" && t.ordinal % 2 === 1);
  private running = (t: FakeTask) => !t.stopped && !(this.exits(t) && this.now >= t.startedAt + EXIT_MS);
  private taskOf = (target: string) => [...this.tasks.values()].find((t) => taskName(t.id) === target);

  health(target: string): TargetHealthState {
    const t = this.targets.get(target);
    const task = this.taskOf(target);
    if (!t) return "unused";
    if (t.draining) return "draining";
    const checked = this.now - t.registeredAt >= CHECKS_MS;
    if (task && this.mode(task) === "silent") return "initial";
    if (!task || !this.running(task) || this.mode(task) === "unhealthy") return checked ? "unhealthy" : "initial";
    return checked ? "healthy" : "initial";
  }

  /** Targets that take requests now, and tasks that run. */
  observe(): void {
    const serving = [...this.targets.keys()].filter((id) => this.health(id) === "healthy").length;
    this.minServing = Math.min(this.minServing, serving);
    this.maxRunning = Math.max(this.maxRunning, [...this.tasks.values()].filter(this.running).length);
  }

  /** From now on, the fewest serving targets and the most running tasks. */
  watch(): void {
    this.minServing = Number.POSITIVE_INFINITY;
    this.maxRunning = 0;
    this.observe();
  }

  readonly runtime: TaskRuntime = {
    listTasks: () =>
      Promise.resolve(
        [...this.tasks.values()].map((t) => ({
          id: t.id,
          image: t.revision.container.image,
          revision: revisionOf(t.revision.container),
          running: this.running(t),
          taskDefinition: t.revision,
          startedAt: t.startedAt,
          ...(t.stableRevision ? { stableRevision: t.stableRevision } : {}),
        })),
      ),
    startTask: (revision, start) => {
      this.operations += 1;
      this.count += 1;
      // Docker-like ids: 64 hex characters, the first 12 name the task.
      const id = (0xa00000000000 + this.count).toString(16) + "0".repeat(52);
      const task = {
        id,
        ordinal: this.count,
        revision,
        startedAt: this.now,
        ...(start?.stableRevision ? { stableRevision: start.stableRevision } : {}),
        stopped: false,
      };
      this.tasks.set(id, task);
      this.startedRevisions.push(revision);
      this.observe();
      const info = { id, image: revision.container.image, revision: revisionOf(revision.container), running: true };
      return Promise.resolve({ task: { ...info, taskDefinition: revision }, address: `10.0.0.${this.count}` });
    },
    exitCode: (id) => {
      const t = this.tasks.get(id);
      return Promise.resolve(t && !t.stopped && !this.running(t) ? 3 : undefined);
    },
    logs: (id) => {
      const t = this.tasks.get(id);
      return Promise.resolve(t && this.exits(t) ? ["cannot start: FEATURE_FLAG is not set"] : []);
    },
    stopTask: (id) => {
      this.operations += 1;
      this.tasks.delete(id);
      this.observe();
      return Promise.resolve();
    },
    address: (id) => Promise.resolve(this.tasks.has(id) ? "10.0.1.1" : undefined),
  };

  readonly targetGroup: TargetGroup = {
    registerTarget: (id) => {
      this.operations += 1;
      this.targets.set(id, { registeredAt: this.now, draining: false });
      return Promise.resolve();
    },
    deregisterTarget: async (id, options) => {
      this.operations += 1;
      const target = this.targets.get(id);
      if (target) target.draining = true;
      this.observe();
      if (options?.drain !== false) await this.clock.sleep(DRAIN_MS);
      this.targets.delete(id);
    },
    describeTargetHealth: () => Promise.resolve(new Map([...this.targets.keys()].map((id) => [id, this.health(id)]))),
  };

  /** The tasks' revisions (one per task) and whether each is registered and healthy. */
  state(): { revisions: string[]; allServing: boolean } {
    const tasks = [...this.tasks.values()];
    const targets = [...this.targets.keys()].sort();
    return {
      revisions: tasks.map((t) => t.revision.container.environment.VERSION ?? ""),
      allServing:
        JSON.stringify(targets) === JSON.stringify(tasks.map((t) => taskName(t.id)).sort()) &&
        targets.every((id) => this.health(id) === "healthy"),
    };
  }

  deploy(
    service: ServiceDefinition,
    events: string[] = [],
    signal?: AbortSignal,
    onEvent?: (e: string) => void,
    onWaiting?: (text: string) => void,
  ) {
    return deployService({
      service,
      memoryMiB: service.memoryMiB,
      runtime: this.runtime,
      targetGroup: this.targetGroup,
      clock: this.clock,
      speedup: 10,
      say: (e) => {
        events.push(e);
        onEvent?.(e);
      },
      ...(signal ? { signal } : {}),
      ...(onWaiting ? { onWaiting } : {}),
    });
  }
}

/** The n-th task the world started, as ECS's events name it. */
export const task = (n: number) => `(task ${(0xa00000000000 + n).toString(16)})`;
export const started = (...n: number[]) => `${NAME} has started ${n.length} tasks: ${n.map(task).join(" ")}.`;
export const registered = (count: number) => `${NAME} registered ${count} targets ${TG}`;
export const deregistered = (count: number) => `${NAME} deregistered ${count} targets ${TG}`;
export const stopped = (...n: number[]) => `${NAME} has stopped ${n.length} running tasks: ${n.map(task).join(" ")}.`;
export const failed = (n: number, reason: string) => `${NAME} has stopped 1 running tasks: ${task(n)}: ${reason}`;
export const exited = "Essential container in task exited (exit code 3)";
export const unhealthy = `Task failed ELB health checks ${TG}`;
export const scaledIn = "Scaling activity initiated by (deployment failed)";
export const steady = `${NAME} has reached a steady state.`;
export const tripped = `${NAME} (deployment of ${IMAGE}) deployment failed: tasks failed to start.`;
export const rollingBack = `${NAME} rolling back to the deployment that ran ${IMAGE}.`;

/** A world whose service runs version 1 (tasks 1 and 2), steady. */
export async function runningVersion1(deployment?: Parameters<typeof definition>[2]): Promise<World> {
  const world = new World();
  await world.deploy(definition("good", "1", deployment));
  world.watch();
  return world;
}
