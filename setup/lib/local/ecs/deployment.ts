// ECS's rolling deployment, as the service scheduler runs it, written against
// a task runtime, a target group and a clock (runtime.ts) and nothing else:
// start new tasks (up to maximumPercent), wait until the target group calls
// them healthy, drain and stop old ones (never below minimumHealthyPercent),
// and count tasks that exit or fail their health checks after the grace period
// against the deployment circuit breaker, which fails the deployment and, with
// rollback on, returns to the previous revision at the desired count. Every
// event is said in ECS's own words. A re-run after an interruption reads what
// runs as ECS would see the service's deployments: the tasks of the revision
// being deployed are kept (their grace counted from when they started), those
// of the revision the service was last steady on are the ones to replace, and
// any other revision's (a deployment replaced by a newer one) is stopped.
// Every deployment has a deadline from the template's own timers: where ECS
// would wait for hours (a target that never settles), the rehearsal says what
// it was waiting for and fails.
import { StepError } from "../../errors.ts";
import { MIN_GRACE_MS, scaled } from "../clock.ts";
import type { ServiceDefinition } from "./definition.ts";
import {
  type DeploymentClock,
  revisionOf,
  type TargetGroup,
  type TargetHealthState,
  type Task,
  type TaskRevision,
  type TaskRuntime,
  taskName,
} from "./runtime.ts";

export interface DeploymentInput {
  readonly service: ServiceDefinition;
  /** Task memory in MiB from the task definition, when set. */
  readonly memoryMiB?: number;
  readonly runtime: TaskRuntime;
  readonly targetGroup: TargetGroup;
  readonly clock: DeploymentClock;
  /** Seconds of AWS time per second of deployment time (the grace period runs that much faster). */
  readonly speedup: number;
  /** Service events, in ECS's words, as they happen. */
  readonly say: (event: string) => void;
  /** What the deployment is waiting for, when no event has been said for a while (not an ECS event). */
  readonly onWaiting?: (text: string) => void;
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

/** How long the rollback's tasks get to turn healthy: the previous revision served until now. */
export const ROLLBACK_HEALTHY_WITHIN_MS = 60_000;

/** How often the deployment looks at its tasks and targets again. */
const POLL_MS = 100;

/** After this long without an event, the deployment says what it is waiting for. */
export const WAITING_NOTICE_MS = 10_000;

/** What a task gets to start on a busy machine before its health checks can begin to pass. */
const TASK_START_MS = 5_000;

/**
 * How long a deployment may take before the rehearsal gives up on it: every
 * round of tasks (a start, the grace period, health checks to healthy or to
 * unhealthy, draining, the stop timeout), for as many rounds as replacing the
 * desired count takes plus one for each failure the circuit breaker allows.
 * ECS sets no such limit (CloudFormation waits up to three hours for a
 * stable service); a target that never settles would keep the rehearsal
 * waiting as long.
 */
export function deploymentDeadlineMs(service: ServiceDefinition, speedup: number): number {
  const tg = service.targetGroup;
  const round =
    TASK_START_MS +
    Math.max(MIN_GRACE_MS, scaled(service.healthCheckGracePeriodSeconds, speedup)) +
    scaled(
      (tg.healthyThreshold + tg.unhealthyThreshold) * tg.intervalSeconds +
        tg.timeoutSeconds +
        tg.deregistrationDelaySeconds +
        service.container.stopTimeoutSeconds,
      speedup,
    );
  const desired = service.desiredCount;
  const batch = Math.max(1, Math.floor((desired * service.maximumPercent) / 100) - desired);
  return round * (Math.ceil(desired / batch) + circuitBreakerThreshold(desired));
}

/**
 * The revision the service was last steady on, among tasks of other revisions
 * than the wanted one: the one the newest of them recorded when its
 * deployment began, if its tasks still run; else the oldest tasks' revision.
 */
function stableRevisionOf(tasks: readonly Task[], wanted: string): string | undefined {
  const others = tasks.filter((t) => t.revision !== wanted);
  if (others.length === 0) return undefined;
  const byStart = [...tasks].sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
  const recorded = byStart.at(-1)?.stableRevision;
  if (recorded && others.some((t) => t.revision === recorded)) return recorded;
  return byStart.find((t) => t.revision !== wanted)?.revision;
}

/** Tasks as ECS's events name them: "(task 0123456789ab) (task …)". */
const taskList = (ids: readonly string[]): string => ids.map((id) => `(task ${id.slice(0, 12)})`).join(" ");

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
export async function deployService(input: DeploymentInput): Promise<RolloutResult> {
  const { service, runtime, targetGroup, clock, signal } = input;
  const began = clock.now();
  let quietSince = began;
  const say = (event: string) => {
    input.say(event);
    quietSince = clock.now();
  };
  const revision: TaskRevision = {
    container: service.container,
    ...(input.memoryMiB ? { memoryMiB: input.memoryMiB } : {}),
  };
  const wanted = revisionOf(service.container);
  const name = `(service ${service.serviceName})`;
  const inGroup = `in (target-group ${service.targetGroupArn})`;
  const desired = service.desiredCount;
  const maxTasks = Math.floor((desired * service.maximumPercent) / 100);
  const minHealthy = Math.ceil((desired * service.minimumHealthyPercent) / 100);
  const threshold = circuitBreakerThreshold(desired);
  // The grace period runs faster like every timer, but a container does not start any faster than it
  // does: never less than MIN_GRACE_MS, so a task slow to start on a busy machine is not counted failed.
  const grace = Math.max(MIN_GRACE_MS, scaled(service.healthCheckGracePeriodSeconds, input.speedup));
  const health = () => targetGroup.describeTargetHealth();
  const deadline = deploymentDeadlineMs(service, input.speedup);

  // Tasks left stopped by an interrupted run are gone for good, as stopped ECS tasks are.
  const all = await runtime.listTasks();
  await Promise.all(all.filter((t) => !t.running).map((t) => runtime.stopTask(t.id)));
  const running = all.filter((t) => t.running);
  // The deployments what runs belongs to: the wanted revision's, the last steady one's, and any other
  // (a deployment a newer one replaced before it finished), whose tasks ECS stops.
  // Those that serve no request (never healthy) go at once; those that serve are replaced like the
  // steady revision's, first, never below minimumHealthyPercent.
  const stable = stableRevisionOf(running, wanted);
  const before = await health();
  const replaced = running.filter((t) => t.revision !== wanted && t.revision !== stable);
  const idle = replaced.filter((t) => before.get(taskName(t.id)) !== "healthy");
  if (idle.length > 0) {
    say(
      `${name} has stopped ${idle.length} running tasks: ${taskList(idle.map((t) => t.id))}: Task stopped by a newer deployment.`,
    );
    await Promise.all(
      idle.map(async (t) => {
        await targetGroup.deregisterTarget(taskName(t.id), { drain: false }).catch(() => undefined);
        await runtime.stopTask(t.id);
      }),
    );
    signal?.throwIfAborted();
  }
  const registered = await health();
  const kept = running.filter((t) => !idle.includes(t));
  // A task the target group does not know (registering was interrupted) is registered now.
  for (const t of kept.filter((t) => !registered.has(taskName(t.id)))) {
    const address = await runtime.address(t.id);
    if (address) await targetGroup.registerTarget(taskName(t.id), address);
  }
  // The replaced deployments' serving tasks go before the steady revision's.
  let old = [...kept.filter((t) => replaced.includes(t)), ...kept.filter((t) => t.revision === stable)];
  // Started by an earlier run: their grace period counts from when they started.
  const fresh: NewTask[] = kept
    .filter((t) => t.revision === wanted)
    .map((task) => ({ task, startedAt: task.startedAt ?? Number.NEGATIVE_INFINITY }));
  let started = 0;
  let stopped = 0;
  let failedTasks = 0;
  const failures: string[] = [];
  const result = (outcome: RolloutResult["outcome"], ms: number): RolloutResult => ({
    outcome,
    started,
    stopped,
    failedTasks,
    failures,
    ms,
  });

  const steady = async () => {
    const h = await health();
    return old.length === 0 && fresh.length === desired && fresh.every((n) => h.get(taskName(n.task.id)) === "healthy");
  };
  if (await steady()) return result("unchanged", 0);

  /** Takes a new task out: no draining (it never served, or is failing), stopped, forgotten. */
  const retire = async (n: NewTask, reason: string) => {
    say(`${name} has stopped 1 running tasks: ${taskList([n.task.id])}: ${reason}`);
    await targetGroup.deregisterTarget(taskName(n.task.id), { drain: false }).catch(() => undefined);
    await runtime.stopTask(n.task.id);
    fresh.splice(fresh.indexOf(n), 1);
  };
  /** A task that failed: counted against the circuit breaker, with its reason and last log lines kept. */
  const fail = async (n: NewTask, reason: string) => {
    failedTasks += 1;
    const logs = await runtime.logs(n.task.id, 5);
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
        const { task, address } = await runtime.startTask(revision, stable ? { stableRevision: stable } : {});
        const n = { task, startedAt: clock.now() };
        if (address) await targetGroup.registerTarget(taskName(task.id), address);
        return n;
      }),
    );
    fresh.push(...launched);
    started += launched.length;
    if (launched.length > 0) {
      say(`${name} has started ${launched.length} tasks: ${taskList(launched.map((n) => n.task.id))}.`);
      say(`${name} registered ${launched.length} targets ${inGroup}`);
      signal?.throwIfAborted();
    }

    // Tasks that exited, or failed their health checks after the grace period, are stopped and count as failed.
    const h = await health();
    await Promise.all(
      [...fresh].map(async (n) => {
        const code = await runtime.exitCode(n.task.id);
        if (code !== undefined) await fail(n, `Essential container in task exited (exit code ${code})`);
        else if (h.get(taskName(n.task.id)) === "unhealthy" && clock.now() - n.startedAt > grace)
          await fail(n, `Task failed ELB health checks ${inGroup}`);
      }),
    );

    if (service.circuitBreaker.enable && failedTasks >= threshold) {
      say(`${name} (deployment of ${service.container.image}) deployment failed: tasks failed to start.`);
      signal?.throwIfAborted();
      await Promise.all([...fresh].map((n) => retire(n, "Scaling activity initiated by (deployment failed)")));
      // The rollback returns to the last steady revision (a replaced deployment never was).
      const previous = old.find((t) => t.revision === stable) ?? old[0];
      if (!service.circuitBreaker.rollback || !previous)
        throw new StepError(
          `The ECS deployment of ${service.container.image} failed: ${failedTasks} tasks failed to start, and there is no earlier deployment to roll back to.`,
          "Read the tasks' reasons above, fix the change, and release again.",
        );
      say(`${name} rolling back to the deployment that ran ${previous.image}.`);
      signal?.throwIfAborted();
      // The rollback is a deployment of the previous revision: back to the desired count with its tasks.
      const missing = desired - old.length;
      if (missing > 0) {
        await restoreTasks(input, previous, missing, (ids) => {
          started += ids.length;
          say(`${name} has started ${ids.length} tasks: ${taskList(ids)}.`);
        });
      }
      say(`${name} has reached a steady state.`);
      return result("rolled back", clock.now() - began);
    }

    // Old tasks go, drained then stopped, as new ones turn healthy, or first when maximumPercent leaves
    // no room to start the new ones; never below minimumHealthyPercent.
    const healthyNew = fresh.filter((n) => h.get(taskName(n.task.id)) === "healthy").length;
    const healthyOld = old.filter((t) => h.get(taskName(t.id)) === "healthy").length;
    const roomNeeded = desired - fresh.length - Math.max(0, maxTasks - (fresh.length + old.length));
    const stoppable = Math.min(old.length, healthyNew + healthyOld - minHealthy, Math.max(healthyNew, roomNeeded));
    if (stoppable > 0) {
      const going = old.slice(0, stoppable);
      say(`${name} deregistered ${going.length} targets ${inGroup}`);
      signal?.throwIfAborted();
      await Promise.all(going.map((t) => targetGroup.deregisterTarget(taskName(t.id))));
      await Promise.all(going.map((t) => runtime.stopTask(t.id)));
      say(`${name} has stopped ${going.length} running tasks: ${taskList(going.map((t) => t.id))}.`);
      stopped += going.length;
      old = old.filter((t) => !going.includes(t));
    }

    // An interruption during the last draining or stop still ends the rollout here: a re-run finds it done.
    signal?.throwIfAborted();
    if (await steady()) {
      say(`${name} has reached a steady state.`);
      return result("steady", clock.now() - began);
    }
    const waiting = () => waitingFor(fresh, old, h);
    if (clock.now() - began > deadline)
      throw new StepError(
        `The ECS deployment of ${service.container.image} did not reach a steady state within ${Math.round(deadline / 1000)} s (what the template's timers allow for its tasks): it was ${waiting()}.`,
        "Look at the tasks' logs (docker logs) and the target group's health check in infra/service.yaml, then run the same command again: it carries on from what runs.",
      );
    if (clock.now() - quietSince >= WAITING_NOTICE_MS) {
      input.onWaiting?.(`${name} is ${waiting()}`);
      quietSince = clock.now();
    }
    await clock.sleep(POLL_MS);
  }
}

/** What a deployment is waiting for, e.g. "waiting for 2 new tasks to turn healthy (1 healthy, 1 initial)". */
function waitingFor(
  fresh: readonly NewTask[],
  old: readonly Task[],
  health: ReadonlyMap<string, TargetHealthState>,
): string {
  const states = new Map<string, number>();
  for (const n of fresh) {
    const state = health.get(taskName(n.task.id)) ?? "not registered";
    states.set(state, (states.get(state) ?? 0) + 1);
  }
  const detail = [...states].map(([state, count]) => `${count} ${state}`).join(", ");
  const parts = [
    ...(fresh.length > 0 ? [`${fresh.length} new tasks to turn healthy (${detail})`] : ["room to start new tasks"]),
    ...(old.length > 0 ? [`${old.length} old tasks to be replaced`] : []),
  ];
  return `waiting for ${parts.join(" and ")}`;
}

/**
 * Starts `count` tasks of the revision task `like` was started from, registers
 * them and waits until the target group calls them healthy: what a rollback
 * deployment does when the failed deployment had already stopped some of the
 * previous revision's tasks; `onStarted` is told their ids once they run.
 */
async function restoreTasks(
  input: DeploymentInput,
  like: Task,
  count: number,
  onStarted: (ids: readonly string[]) => void,
): Promise<void> {
  const { runtime, targetGroup, clock, signal } = input;
  const revision = like.taskDefinition;
  if (!revision)
    throw new StepError(
      `The rollback cannot start tasks of the previous revision (${like.image}): its tasks do not say which task definition they were started from.`,
      "Release again: the next deployment starts from what runs.",
    );
  const ids = await Promise.all(
    Array.from({ length: count }, async () => {
      // The rollback is a deployment of the previous revision, steady until this failed deployment began.
      const { task, address } = await runtime.startTask(revision, { stableRevision: like.revision });
      if (address) await targetGroup.registerTarget(taskName(task.id), address);
      return task.id;
    }),
  );
  onStarted(ids);
  // The previous revision served until now: its new tasks come up as it did, within a minute.
  const deadline = clock.now() + ROLLBACK_HEALTHY_WITHIN_MS;
  for (;;) {
    signal?.throwIfAborted();
    const health = await targetGroup.describeTargetHealth();
    if (ids.every((id) => health.get(taskName(id)) === "healthy")) return;
    if (clock.now() > deadline)
      throw new StepError(
        "The rollback's tasks did not turn healthy within a minute.",
        "Run the same command again: the next release starts from what runs.",
      );
    await clock.sleep(POLL_MS);
  }
}
