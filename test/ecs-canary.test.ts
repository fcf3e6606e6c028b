// ECS's canary deployment (setup/lib/local/ecs/canary.ts) without Docker, in
// the in-memory world of test/support/ecs-world.ts, with two target groups over
// its targets, the production rule's weights and alarms the test sets.
import { describe, expect, it } from "vitest";
import { StepError } from "../setup/lib/errors.ts";
import { scaled } from "../setup/lib/local/clock.ts";
import {
  type CanaryInput,
  type CanaryStage,
  type CanaryStrategy,
  deployCanary,
} from "../setup/lib/local/ecs/canary.ts";
import type { TargetGroup } from "../setup/lib/local/ecs/runtime.ts";
import { definition, type Mode, World } from "./support/ecs-world.ts";

const BLUE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-blue/1";
const GREEN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-green/2";
const ALARM = "ecs-test-latency-p90";
const BAKE_SPEEDUP = 20;

const strategy = (over: Partial<CanaryStrategy> = {}): CanaryStrategy => ({
  canaryPercent: 10,
  canaryBakeMinutes: 2,
  bakeMinutes: 1,
  alarms: { names: [ALARM], enable: true, rollback: true },
  alternateTargetGroupArn: GREEN,
  productionListenerRule: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/alb/1/2/3",
  ...over,
});

/** The world's targets split in two target groups, the rule's weights, and alarm states over fake time. */
class CanaryWorld {
  readonly world = new World();
  readonly members = new Map<string, string>();
  weights: Record<string, number> = { [BLUE]: 100, [GREEN]: 0 };
  readonly shifts: Array<{ at: number; weights: Record<string, number> }> = [];
  /** When (fake ms) the alarm goes to ALARM, and back to OK; none: it never does. */
  alarmWindow?: { from: number; to: number };
  readonly stages: CanaryStage[] = [];

  group(arn: string): TargetGroup {
    const tg = this.world.targetGroup;
    return {
      registerTarget: async (id, address) => {
        this.members.set(id, arn);
        await tg.registerTarget(id, address);
      },
      deregisterTarget: async (id, options) => {
        await tg.deregisterTarget(id, options);
        this.members.delete(id);
      },
      describeTargetHealth: async () =>
        new Map([...(await tg.describeTargetHealth())].filter(([id]) => this.members.get(id) === arn)),
    };
  }

  async deploy(
    mode: Mode,
    version: string,
    events: string[],
    over: Partial<CanaryStrategy> = {},
    signal?: AbortSignal,
  ) {
    this.stages.length = 0;
    const input: CanaryInput = {
      service: { ...definition(mode, version), targetGroupArn: BLUE },
      strategy: strategy(over),
      memoryMiB: 512,
      runtime: this.world.runtime,
      targetGroups: { [BLUE]: this.group(BLUE), [GREEN]: this.group(GREEN) },
      traffic: {
        weights: () => Promise.resolve({ ...this.weights }),
        shift: (weights) => {
          this.weights = { ...weights };
          this.shifts.push({ at: this.world.now, weights: { ...weights } });
          return Promise.resolve();
        },
      },
      alarmsInAlarm: (names) => {
        const w = this.alarmWindow;
        const firing = w && this.world.now >= w.from && this.world.now < w.to;
        return Promise.resolve(firing ? names.filter((n) => n === ALARM) : []);
      },
      clock: this.world.clock,
      speedup: 10,
      bakeSpeedup: BAKE_SPEEDUP,
      say: (e) => events.push(e),
      onStage: (s) => this.stages.push(s),
      ...(signal ? { signal } : {}),
    };
    return deployCanary(input);
  }

  /** Revisions of the running tasks in each group. */
  serving(): Record<string, string[]> {
    const out: Record<string, string[]> = { [BLUE]: [], [GREEN]: [] };
    for (const task of this.world.tasks.values()) {
      const group = [...this.members].find(([id]) => id === `task-${task.id.slice(0, 12)}`)?.[1];
      if (group && !task.stopped) out[group]?.push(task.revision.container.environment.VERSION ?? "");
    }
    return out;
  }
}

/** Version 1 serving from the blue group, weights 100/0: what lesson 08 starts from. */
async function servingVersion1(): Promise<CanaryWorld> {
  const w = new CanaryWorld();
  // A first deployment goes to the group with no production weight: green. Swap the names so it ends in blue.
  w.weights = { [BLUE]: 0, [GREEN]: 100 };
  expect((await w.deploy("good", "1", [])).outcome).toBe("steady");
  expect(w.weights).toEqual({ [BLUE]: 100, [GREEN]: 0 });
  w.shifts.length = 0;
  return w;
}

describe("ECS's canary deployment", () => {
  it("walks the stages: green healthy first, the canary's share and bake, all of it, the bake, blue cleaned up", async () => {
    const w = await servingVersion1();
    const events: string[] = [];
    const t0 = w.world.now;
    const result = await w.deploy("good", "2", events);
    expect(result).toMatchObject({ outcome: "steady", started: 2, stopped: 2, failedTasks: 0, stage: "CLEAN_UP" });
    expect(w.stages).toEqual([
      "RECONCILE_SERVICE",
      "PRE_SCALE_UP",
      "SCALE_UP",
      "POST_SCALE_UP",
      "PRODUCTION_TRAFFIC_SHIFT",
      "POST_PRODUCTION_TRAFFIC_SHIFT",
      "BAKE_TIME",
      "CLEAN_UP",
    ]);
    expect(w.shifts.map((s) => s.weights)).toEqual([
      { [BLUE]: 90, [GREEN]: 10 },
      { [BLUE]: 0, [GREEN]: 100 },
    ]);
    // The canary's share stayed for its bake (2 minutes on the alarms' clock), and green was healthy before it.
    const [canary, all] = w.shifts.map((shift) => shift.at) as [number, number];
    expect(all - canary).toBeGreaterThanOrEqual(scaled(2 * 60, BAKE_SPEEDUP));
    expect(canary - t0).toBeGreaterThanOrEqual(300);
    expect(w.serving()).toEqual({ [BLUE]: [], [GREEN]: ["2", "2"] });
    expect(events.at(-1)).toBe("(service ecs-test-app) has reached a steady state.");
    expect(events).toContain(`(service ecs-test-app) shifted 10% of production traffic to (target-group ${GREEN}).`);
  });

  it("rolls back when an alarm goes off during the canary's bake: production back to blue, green stopped", async () => {
    const w = await servingVersion1();
    w.alarmWindow = { from: w.world.now + 2_000, to: Number.POSITIVE_INFINITY };
    const events: string[] = [];
    const result = await w.deploy("good", "2", events);
    expect(result).toMatchObject({
      outcome: "rolled back",
      stage: "PRODUCTION_TRAFFIC_SHIFT",
      rollbackReason: `alarm ${ALARM} is in ALARM`,
      stopped: 0,
    });
    expect(w.shifts.map((s) => s.weights)).toEqual([
      { [BLUE]: 90, [GREEN]: 10 },
      { [BLUE]: 100, [GREEN]: 0 },
    ]);
    expect(w.serving()).toEqual({ [BLUE]: ["1", "1"], [GREEN]: [] });
    expect(events).toContain(
      "(service ecs-test-app) (deployment of aws-cicd-lab-test/task:1) deployment failed: alarm detected; rolling back to the deployment that ran aws-cicd-lab-test/task:1.",
    );
  });

  it("rolls back when the alarm goes off in the last bake, all of production already on green", async () => {
    const w = await servingVersion1();
    const events: string[] = [];
    // After the canary's bake (2 min = 6 s here) and the shift to all: during BAKE_TIME.
    w.alarmWindow = { from: w.world.now + 300 + scaled(2 * 60, BAKE_SPEEDUP) + 1_000, to: Number.POSITIVE_INFINITY };
    const result = await w.deploy("good", "2", events);
    expect(result).toMatchObject({ outcome: "rolled back", stage: "BAKE_TIME" });
    expect(w.shifts.map((s) => s.weights)).toEqual([
      { [BLUE]: 90, [GREEN]: 10 },
      { [BLUE]: 0, [GREEN]: 100 },
      { [BLUE]: 100, [GREEN]: 0 },
    ]);
    expect(w.serving()).toEqual({ [BLUE]: ["1", "1"], [GREEN]: [] });
  });

  it("ignores an alarm already in ALARM when the deployment began, as ECS does", async () => {
    const w = await servingVersion1();
    w.alarmWindow = { from: 0, to: Number.POSITIVE_INFINITY };
    const events: string[] = [];
    expect((await w.deploy("good", "2", events)).outcome).toBe("steady");
    expect(events[0]).toMatch(/ignores ecs-test-latency-p90: already in ALARM when it began/);
  });

  it("trips the circuit breaker on green's failing tasks before any traffic moves", async () => {
    const w = await servingVersion1();
    const events: string[] = [];
    const result = await w.deploy("exit", "3", events);
    expect(result).toMatchObject({
      outcome: "rolled back",
      stage: "SCALE_UP",
      failedTasks: 4,
      rollbackReason: "deployment failed: tasks failed to start",
    });
    expect(result.failures[0]).toMatch(/exited \(exit code 3\)\n {2}cannot start: FEATURE_FLAG is not set/);
    // Production never moved off blue: the rollback only says so.
    expect(w.shifts.map((s) => s.weights)).toEqual([{ [BLUE]: 100, [GREEN]: 0 }]);
    expect(w.serving()).toEqual({ [BLUE]: ["1", "1"], [GREEN]: [] });
  });

  it("fails without rolling back when the alarms' Rollback is off", async () => {
    const w = await servingVersion1();
    w.alarmWindow = { from: w.world.now + 2_000, to: Number.POSITIVE_INFINITY };
    const off = { names: [ALARM], enable: true, rollback: false };
    const failing = w.deploy("good", "2", [], { alarms: off });
    await expect(failing).rejects.toThrow(StepError);
    await expect(failing).rejects.toThrow(/alarm detected\), and its Rollback is off: it was not rolled back/);
    // Production stays where the deployment left it: ECS does not move it back without Rollback.
    expect(w.weights).toEqual({ [BLUE]: 90, [GREEN]: 10 });
  });

  it("is unchanged when production already runs the revision", async () => {
    const w = await servingVersion1();
    const events: string[] = [];
    expect((await w.deploy("good", "1", events)).outcome).toBe("unchanged");
    expect(events).toEqual([]);
    expect(w.shifts).toEqual([]);
  });
});

describe("a canary deployment interrupted", () => {
  /** Runs a deployment until `stage`, then aborts it, as Ctrl-C does. */
  async function interruptAt(w: CanaryWorld, stage: CanaryStage, version: string): Promise<void> {
    const controller = new AbortController();
    const original = w.world.clock.sleep;
    const seen = w.stages;
    w.world.clock.sleep = async (ms: number) => {
      if (seen.includes(stage)) controller.abort(new Error("interrupted"));
      await original(ms);
    };
    await expect(w.deploy("good", version, [], {}, controller.signal)).rejects.toThrow(/interrupted/);
    w.world.clock.sleep = original;
  }

  it("during the canary's share: a re-run puts production back on blue, starts green over, and finishes", async () => {
    const w = await servingVersion1();
    await interruptAt(w, "PRODUCTION_TRAFFIC_SHIFT", "2");
    expect(w.weights).toEqual({ [BLUE]: 90, [GREEN]: 10 });
    const events: string[] = [];
    const result = await w.deploy("good", "2", events);
    expect(result.outcome).toBe("steady");
    expect(events[0]).toBe(`(service ecs-test-app) shifted 100% of production traffic back to (target-group ${BLUE}).`);
    expect(events[1]).toMatch(/has stopped 2 running tasks: .*: Task stopped by a newer deployment\./);
    expect(w.serving()).toEqual({ [BLUE]: [], [GREEN]: ["2", "2"] });
  });

  it("during the last bake: a re-run finds green in production and finishes the clean-up", async () => {
    const w = await servingVersion1();
    await interruptAt(w, "BAKE_TIME", "2");
    expect(w.weights).toEqual({ [BLUE]: 0, [GREEN]: 100 });
    const events: string[] = [];
    const result = await w.deploy("good", "2", events);
    expect(result).toMatchObject({ outcome: "steady", stopped: 2, stage: "CLEAN_UP" });
    expect(events).toEqual([
      expect.stringMatching(/has stopped 2 running tasks: .*: Task stopped by the deployment's clean-up\./),
      "(service ecs-test-app) has reached a steady state.",
    ]);
    expect(w.serving()).toEqual({ [BLUE]: [], [GREEN]: ["2", "2"] });
  });
});
