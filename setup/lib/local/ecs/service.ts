// The local stand-in for the ECS service: ECS's rolling deployment and
// circuit breaker (deployment.ts), or its canary deployment (canary.ts), run
// with the service's tasks as containers on the Docker engine
// (docker-tasks.ts) and the load balancer stand-in as its target group(s). Timers (grace period, stop timeout, health checks, draining)
// run `speedup` times faster, like the load balancer's.
import { setTimeout as sleep } from "node:timers/promises";
import { type CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { StepError } from "../../errors.ts";
import { CLOUDWATCH_SPEEDUP } from "../clock.ts";
import {
  ALTERNATE_TARGET,
  applyGroupWeights,
  deregisterTarget,
  type GroupWeights,
  type LoadBalancer,
  registerTarget,
  targetHealthById,
} from "../elbv2/load-balancer.ts";
import { ruleWeights, setRuleWeights } from "../elbv2/rule-weights.ts";
import { deployCanary } from "./canary.ts";
import type { CanaryStrategy, ServiceDefinition } from "./definition.ts";
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

/**
 * The load balancer stand-in as the service's one target group (a rolling
 * deployment). A service that was released by canary before has its tasks in
 * either group (the alternate's named ALTERNATE_TARGET + id): all are its
 * targets now, found by task id, so going back to rolling replaces them.
 */
export function loadBalancerTargetGroup(lb: LoadBalancer): TargetGroup {
  const taskId = (server: string) =>
    server.startsWith(ALTERNATE_TARGET) ? server.slice(ALTERNATE_TARGET.length) : server;
  const servers = new Map<string, string>();
  return {
    registerTarget: (id, address) => registerTarget(lb, id, address),
    deregisterTarget: async (id, options) => {
      await deregisterTarget(lb, servers.get(id) ?? id, options?.drain === false ? { drain: false } : {});
    },
    describeTargetHealth: async () => {
      const health = await targetHealthById(lb);
      for (const server of health.keys()) servers.set(taskId(server), server);
      return new Map([...health].map(([server, state]) => [taskId(server), state]));
    },
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
  /** The emulator's ELB (the production rule's weights) and CloudWatch (the alarms' states): a canary's. */
  readonly elb?: ElasticLoadBalancingV2Client;
  readonly cw?: CloudWatchClient;
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
  if (input.service.strategy.kind === "CANARY") return rollOutCanary(input, input.service.strategy);
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

/**
 * One target group of a canary's two, on the load balancer stand-in: the
 * alternate group's targets named ALTERNATE_TARGET + id. A target registered
 * gets no requests until the rule's weights are applied again with it.
 */
function groupOnLoadBalancer(lb: LoadBalancer, alternate: boolean, weights: () => GroupWeights): TargetGroup {
  const name = (id: string) => (alternate ? `${ALTERNATE_TARGET}${id}` : id);
  const mine = (server: string) => server.startsWith(ALTERNATE_TARGET) === alternate;
  return {
    registerTarget: async (id, address) => {
      await registerTarget(lb, name(id), address, { weight: 0 });
      await applyGroupWeights(lb, weights());
    },
    deregisterTarget: async (id, options) => {
      await deregisterTarget(lb, name(id), options?.drain === false ? { drain: false } : {});
    },
    describeTargetHealth: async () =>
      new Map(
        [...(await targetHealthById(lb))]
          .filter(([server]) => mine(server))
          .map(([server, health]) => [alternate ? server.slice(ALTERNATE_TARGET.length) : server, health]),
      ),
  };
}

/**
 * The service's canary deployment (canary.ts) with its tasks on the Docker
 * engine, its two target groups on the load balancer stand-in, the production
 * rule's weights in the emulator (ModifyRule) and applied by the stand-in, and
 * the alarms' states as the emulator holds them (lesson 08 evaluates them
 * while its release runs; nothing else does, so they stay as they are).
 */
async function rollOutCanary(input: RolloutInput, strategy: CanaryStrategy): Promise<RolloutResult> {
  const { elb, cw, lb, service } = input;
  if (!elb || !cw)
    throw new StepError(
      "A canary deployment needs the emulator's ELB and CloudWatch clients.",
      "Release through the pipeline (bin/lesson), which gives them.",
    );
  const rule = strategy.productionListenerRule;
  const serviceArn = service.targetGroupArn;
  const alternateArn = strategy.alternateTargetGroupArn;
  let weights = await ruleWeights(elb, rule);
  const groupWeights = (): GroupWeights => ({
    service: weights[serviceArn] ?? 0,
    alternate: weights[alternateArn] ?? 0,
  });
  // What the rule says is what the stand-in applies, from the first look.
  await applyGroupWeights(lb, groupWeights());
  return deployCanary({
    service,
    strategy,
    ...(input.memoryMiB ? { memoryMiB: input.memoryMiB } : {}),
    runtime: dockerTaskRuntime(dockerSettings(input)),
    targetGroups: {
      [serviceArn]: groupOnLoadBalancer(lb, false, groupWeights),
      [alternateArn]: groupOnLoadBalancer(lb, true, groupWeights),
    },
    traffic: {
      weights: () => Promise.resolve({ ...weights }),
      shift: async (next) => {
        await setRuleWeights(elb, rule, next);
        weights = { ...next };
        await applyGroupWeights(lb, groupWeights());
      },
    },
    alarmsInAlarm: async (names) => {
      if (names.length === 0) return [];
      const { MetricAlarms } = await cw.send(new DescribeAlarmsCommand({ AlarmNames: [...names] }));
      return (MetricAlarms ?? []).filter((a) => a.StateValue === "ALARM").map((a) => a.AlarmName ?? "");
    },
    clock: realClock,
    speedup: input.speedup,
    bakeSpeedup: CLOUDWATCH_SPEEDUP,
    say: input.say,
    ...(input.signal ? { signal: input.signal } : {}),
  });
}
