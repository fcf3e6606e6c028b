// ECS's canary deployment (DeploymentConfiguration Strategy CANARY), as the
// service scheduler runs it, written against the same task runtime, target
// groups and clock as the rolling deployment (runtime.ts) plus the production
// listener rule's weights and the alarms' states:
//   SCALE_UP                  the new revision's tasks ("green"), the desired
//                             count, registered in the alternate target group,
//                             healthy before any traffic moves; tasks that fail
//                             count against the circuit breaker, as in rolling;
//   PRODUCTION_TRAFFIC_SHIFT  CanaryPercent of production to green, then the
//                             canary bake (CanaryBakeTimeInMinutes), then all;
//   BAKE_TIME                 BakeTimeInMinutes with every task still running;
//   CLEAN_UP                  the old revision's tasks ("blue") deregistered
//                             and stopped: green's target group is production.
// Through the shifts and bakes the deployment's alarms are watched: one in
// ALARM rolls back (Rollback true) by moving all traffic back to blue, which
// still runs, and stopping green. An alarm already in ALARM when the
// deployment began is not counted against it, as ECS ignores it.
// Bake times are alarm periods, so they run on CloudWatch's rehearsal clock.
import { StepError } from "../../errors.ts";
import { MIN_GRACE_MS, scaled } from "../clock.ts";
import type { CanaryStrategy, ServiceDefinition } from "./definition.ts";

export type { CanaryStrategy } from "./definition.ts";
import { circuitBreakerThreshold, type RolloutResult } from "./deployment.ts";
import {
  type DeploymentClock,
  revisionOf,
  type TargetGroup,
  type Task,
  type TaskRevision,
  type TaskRuntime,
  taskName,
} from "./runtime.ts";

/** The lifecycle stages ECS reports for a canary deployment, in order (no test listener: its two are skipped). */
export const CANARY_STAGES = [
  "RECONCILE_SERVICE",
  "PRE_SCALE_UP",
  "SCALE_UP",
  "POST_SCALE_UP",
  "PRODUCTION_TRAFFIC_SHIFT",
  "POST_PRODUCTION_TRAFFIC_SHIFT",
  "BAKE_TIME",
  "CLEAN_UP",
] as const;
export type CanaryStage = (typeof CANARY_STAGES)[number];

/** The production listener rule's forward weights, by target group ARN (what ModifyRule sets). */
export interface ProductionTraffic {
  weights(): Promise<Readonly<Record<string, number>>>;
  shift(weights: Readonly<Record<string, number>>): Promise<void>;
}

export interface CanaryInput {
  readonly service: ServiceDefinition;
  readonly strategy: CanaryStrategy;
  readonly memoryMiB?: number;
  readonly runtime: TaskRuntime;
  /** The two target groups by ARN: the service's and the alternate. */
  readonly targetGroups: Readonly<Record<string, TargetGroup>>;
  readonly traffic: ProductionTraffic;
  /** The names among `names` whose alarm is in ALARM now. */
  readonly alarmsInAlarm: (names: readonly string[]) => Promise<string[]>;
  readonly clock: DeploymentClock;
  /** AWS seconds per rehearsal second for ECS's and the load balancer's timers (the grace period). */
  readonly speedup: number;
  /** AWS seconds per rehearsal second for the bakes: they are alarm periods (CLOUDWATCH_SPEEDUP). */
  readonly bakeSpeedup: number;
  readonly say: (event: string) => void;
  readonly onStage?: (stage: CanaryStage) => void;
  readonly signal?: AbortSignal;
}

export interface CanaryResult extends RolloutResult {
  /** Why it rolled back, when it did: the alarm that went off, or the circuit breaker's reason. */
  readonly rollbackReason?: string;
  /** The stage it reached (CLEAN_UP when it finished). */
  readonly stage: CanaryStage;
}

const POLL_MS = 100;
/** How long green's tasks may take to turn healthy, beyond the grace period, before the deployment gives up. */
const SCALE_UP_LIMIT_MS = 60_000;

const taskList = (ids: readonly string[]): string => ids.map((id) => `(task ${id.slice(0, 12)})`).join(" ");

/**
 * Deploys the service's revision by CANARY: green beside blue, a share of
 * production, bakes watched by the alarms, then all of it. Returns "rolled
 * back" when an alarm or the circuit breaker sent production back to blue.
 */
export async function deployCanary(input: CanaryInput): Promise<CanaryResult> {
  const { service, strategy, runtime, traffic, clock, signal } = input;
  const began = clock.now();
  const name = `(service ${service.serviceName})`;
  const say = (event: string) => input.say(event);
  /** The alarm that failed the deployment, when one did. */
  let triggered: string | undefined;
  const arns = [service.targetGroupArn, strategy.alternateTargetGroupArn];
  for (const arn of arns)
    if (!input.targetGroups[arn])
      throw new StepError(`The canary deployment has no target group ${arn}.`, "Check infra/service.yaml.");
  let stage: CanaryStage = "RECONCILE_SERVICE";
  const enter = (next: CanaryStage) => {
    stage = next;
    input.onStage?.(next);
  };
  enter("RECONCILE_SERVICE");

  // Production is the target group the rule sends (most of) its requests to; green goes to the other.
  const weights = await traffic.weights();
  const [blueArn, greenArn] = [...arns].sort((a, b) => (weights[b] ?? 0) - (weights[a] ?? 0)) as [string, string];
  const blueGroup = input.targetGroups[blueArn] as TargetGroup;
  const greenGroup = input.targetGroups[greenArn] as TargetGroup;
  const wanted = revisionOf(service.container);
  const revision: TaskRevision = {
    container: service.container,
    ...(input.memoryMiB ? { memoryMiB: input.memoryMiB } : {}),
  };
  const running = (await runtime.listTasks()).filter((t) => t.running);
  const blueHealth = await blueGroup.describeTargetHealth();
  const blue = running.filter((t) => blueHealth.has(taskName(t.id)));
  let started = 0;
  let stopped = 0;
  let failedTasks = 0;
  const failures: string[] = [];
  const result = (outcome: RolloutResult["outcome"], extra: { rollbackReason?: string } = {}): CanaryResult => ({
    outcome,
    started,
    stopped,
    failedTasks,
    failures,
    ms: clock.now() - began,
    stage,
    ...extra,
  });
  // Tasks outside production: the previous revision's left by an interrupted clean-up, or an interrupted
  // deployment's green.
  const strays = running.filter((t) => !blue.includes(t));
  const stopStrays = async (reason: string) => {
    if (strays.length === 0) return;
    await Promise.all(
      strays.map(async (t) => {
        const group = (await greenGroup.describeTargetHealth()).has(taskName(t.id)) ? greenGroup : blueGroup;
        await group.deregisterTarget(taskName(t.id), { drain: false }).catch(() => undefined);
        await runtime.stopTask(t.id);
      }),
    );
    stopped += strays.length;
    say(`${name} has stopped ${strays.length} running tasks: ${taskList(strays.map((t) => t.id))}: ${reason}`);
  };
  const inProduction = blue.length === service.desiredCount && blue.every((t) => t.revision === wanted);
  if (inProduction && (weights[blueArn] ?? 0) === 100) {
    if (strays.length === 0) return result("unchanged");
    // The deployment had shifted everything and was cleaning up: it finishes that.
    enter("CLEAN_UP");
    await stopStrays("Task stopped by the deployment's clean-up.");
    say(`${name} has reached a steady state.`);
    return result("steady");
  }
  // An interrupted deployment's green starts over, production back on blue first.
  if ((weights[blueArn] ?? 0) !== 100) {
    await traffic.shift({ [blueArn]: 100, [greenArn]: 0 });
    say(`${name} shifted 100% of production traffic back to (target-group ${blueArn}).`);
  }
  await stopStrays("Task stopped by a newer deployment.");
  // Alarms in ALARM now are not this deployment's doing: ECS does not count them against it.
  const watched = strategy.alarms.enable ? strategy.alarms.names : [];
  const ignored = new Set(await input.alarmsInAlarm(watched));
  if (ignored.size > 0) say(`${name} deployment ignores ${[...ignored].join(", ")}: already in ALARM when it began.`);

  /**
   * Production back to blue, which still runs, and green stopped. Without rollback (the alarms' or the
   * circuit breaker's Rollback false), or with no blue to go back to, the deployment fails instead.
   */
  const rollBack = async (green: readonly Task[], reason: string, rollback: boolean): Promise<CanaryResult> => {
    const what = `${name} (deployment of ${service.container.image}) ${reason}`;
    if (!rollback || blue.length === 0) {
      say(`${what}.`);
      throw new StepError(
        `The canary deployment of ${service.container.image} failed (${reason}), ${blue.length === 0 ? "and there is no earlier deployment to roll back to" : "and its Rollback is off: it was not rolled back"}.`,
        "Fix the change and release again.",
      );
    }
    say(`${what}; rolling back to the deployment that ran ${blue[0]?.image}.`);
    await traffic.shift({ [blueArn]: 100, [greenArn]: 0 });
    say(`${name} shifted 100% of production traffic back to (target-group ${blueArn}).`);
    // Green's requests in flight (a canary's, slow ones included) finish while its targets drain.
    if (green.length > 0) say(`${name} deregistered ${green.length} targets in (target-group ${greenArn})`);
    await Promise.all(
      green.map(async (t) => {
        await greenGroup.deregisterTarget(taskName(t.id)).catch(() => undefined);
        await runtime.stopTask(t.id);
      }),
    );
    if (green.length > 0)
      say(`${name} has stopped ${green.length} running tasks: ${taskList(green.map((t) => t.id))}.`);
    say(`${name} has reached a steady state.`);
    return result("rolled back", { rollbackReason: triggered ? `alarm ${triggered} is in ALARM` : reason });
  };

  // SCALE_UP: green at the desired count in the alternate target group, healthy before any traffic moves.
  enter("PRE_SCALE_UP");
  enter("SCALE_UP");
  const grace = Math.max(MIN_GRACE_MS, scaled(service.healthCheckGracePeriodSeconds, input.speedup));
  const threshold = circuitBreakerThreshold(service.desiredCount);
  let green: Array<{ task: Task; startedAt: number }> = [];
  const scaleUpDeadline = clock.now() + grace + SCALE_UP_LIMIT_MS;
  for (;;) {
    signal?.throwIfAborted();
    const missing = service.desiredCount - green.length;
    if (missing > 0) {
      const launched = await Promise.all(
        Array.from({ length: missing }, async () => {
          const { task, address } = await runtime.startTask(
            revision,
            blue[0] ? { stableRevision: blue[0].revision } : {},
          );
          if (address) await greenGroup.registerTarget(taskName(task.id), address);
          return { task, startedAt: clock.now() };
        }),
      );
      green.push(...launched);
      started += launched.length;
      say(`${name} has started ${launched.length} tasks: ${taskList(launched.map((n) => n.task.id))}.`);
      say(`${name} registered ${launched.length} targets in (target-group ${greenArn})`);
    }
    const health = await greenGroup.describeTargetHealth();
    for (const n of [...green]) {
      const code = await runtime.exitCode(n.task.id);
      const reason =
        code !== undefined
          ? `Essential container in task exited (exit code ${code})`
          : health.get(taskName(n.task.id)) === "unhealthy" && clock.now() - n.startedAt > grace
            ? `Task failed ELB health checks in (target-group ${greenArn})`
            : undefined;
      if (!reason) continue;
      failedTasks += 1;
      const logs = await runtime.logs(n.task.id, 5);
      failures.push([`${taskName(n.task.id)}: ${reason}`, ...logs.map((l) => `  ${l}`)].join("\n"));
      await greenGroup.deregisterTarget(taskName(n.task.id), { drain: false }).catch(() => undefined);
      await runtime.stopTask(n.task.id);
      say(`${name} has stopped 1 running tasks: ${taskList([n.task.id])}: ${reason}`);
      green = green.filter((g) => g !== n);
    }
    if (service.circuitBreaker.enable && failedTasks >= threshold)
      return rollBack(
        green.map((g) => g.task),
        "deployment failed: tasks failed to start",
        service.circuitBreaker.rollback,
      );
    if (green.length === service.desiredCount && green.every((n) => health.get(taskName(n.task.id)) === "healthy"))
      break;
    if (clock.now() > scaleUpDeadline)
      throw new StepError(
        `The canary's tasks of ${service.container.image} did not turn healthy in (target-group ${greenArn}).`,
        "Look at the tasks' logs (docker logs) and the target group's health check in infra/service.yaml, then release again.",
      );
    await clock.sleep(POLL_MS);
  }
  enter("POST_SCALE_UP");
  const greenTasks = () => green.map((g) => g.task);

  /** Bakes for `minutes` on the alarms' clock; the alarm that went off, if one did. */
  const bake = async (minutes: number): Promise<string | undefined> => {
    const until = clock.now() + scaled(minutes * 60, input.bakeSpeedup);
    for (;;) {
      signal?.throwIfAborted();
      const firing = (await input.alarmsInAlarm(watched)).filter((a) => !ignored.has(a));
      if (firing.length > 0) return firing[0];
      if (clock.now() >= until) return undefined;
      await clock.sleep(POLL_MS);
    }
  };
  // ECS's event says "deployment failed: alarm detected."; which alarm is in DescribeServiceDeployments'
  // alarms.triggeredAlarmNames, given here as the rollback's reason.
  const alarmed = async (alarm: string) => {
    triggered = alarm;
    return rollBack(greenTasks(), "deployment failed: alarm detected", strategy.alarms.rollback);
  };

  // PRODUCTION_TRAFFIC_SHIFT: the canary's share, its bake, then all of production.
  enter("PRODUCTION_TRAFFIC_SHIFT");
  const share = strategy.canaryPercent;
  await traffic.shift({ [blueArn]: 100 - share, [greenArn]: share });
  say(`${name} shifted ${share}% of production traffic to (target-group ${greenArn}).`);
  const canaryAlarm = await bake(strategy.canaryBakeMinutes);
  if (canaryAlarm) return alarmed(canaryAlarm);
  await traffic.shift({ [blueArn]: 0, [greenArn]: 100 });
  say(`${name} shifted 100% of production traffic to (target-group ${greenArn}).`);
  enter("POST_PRODUCTION_TRAFFIC_SHIFT");

  // BAKE_TIME: blue still runs, so a rollback is a weight flip away.
  enter("BAKE_TIME");
  const bakeAlarm = await bake(strategy.bakeMinutes);
  if (bakeAlarm) return alarmed(bakeAlarm);

  // CLEAN_UP: blue deregistered (drained) and stopped; green's target group is production now.
  enter("CLEAN_UP");
  if (blue.length > 0) {
    say(`${name} deregistered ${blue.length} targets in (target-group ${blueArn})`);
    await Promise.all(blue.map((t) => blueGroup.deregisterTarget(taskName(t.id))));
    await Promise.all(blue.map((t) => runtime.stopTask(t.id)));
    stopped += blue.length;
    say(`${name} has stopped ${blue.length} running tasks: ${taskList(blue.map((t) => t.id))}.`);
  }
  say(`${name} has reached a steady state.`);
  return result("steady");
}
