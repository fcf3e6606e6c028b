// ECS's deployment rules (setup/lib/local/ecs/deployment.ts) without Docker,
// in the in-memory world of test/support/ecs-world.ts: "good" tasks turn
// healthy, "unhealthy" never do, "exit" stops with exit code 3.
import { describe, expect, it } from "vitest";
import { StepError } from "../setup/lib/errors.ts";
import { circuitBreakerThreshold } from "../setup/lib/local/ecs/deployment.ts";
import { taskName } from "../setup/lib/local/ecs/runtime.ts";
import {
  IMAGE,
  World,
  definition,
  deregistered,
  exited,
  failed,
  registered,
  rollingBack,
  runningVersion1,
  scaledIn,
  started,
  steady,
  stopped,
  tripped,
  unhealthy,
} from "./support/ecs-world.ts";

describe("ECS's rolling deployment", () => {
  it("starts the desired count on a first deployment; the same definition again is unchanged", async () => {
    const world = new World();
    const events: string[] = [];
    const result = await world.deploy(definition("good", "1"), events);
    expect(result).toMatchObject({ outcome: "steady", started: 2, stopped: 0, failedTasks: 0, failures: [] });
    expect(events).toEqual([started(1, 2), registered(2), steady]);
    expect(world.startedRevisions[0]).toEqual({ container: definition("good", "1").container, memoryMiB: 512 });
    const again: string[] = [];
    expect(await world.deploy(definition("good", "1"), again)).toMatchObject({ outcome: "unchanged", started: 0 });
    expect(again).toEqual([]);
  });

  it("100/200: new tasks started and healthy first, then the old ones drained and stopped", async () => {
    const world = await runningVersion1();
    const events: string[] = [];
    const result = await world.deploy(definition("good", "2"), events);
    expect(result).toMatchObject({ outcome: "steady", started: 2, stopped: 2, failedTasks: 0 });
    expect(events).toEqual([started(3, 4), registered(2), deregistered(2), stopped(1, 2), steady]);
    expect(world.state()).toEqual({ revisions: ["2", "2"], allServing: true });
    expect(world.minServing).toBe(2);
    expect(world.maxRunning).toBe(4);
  });

  it("50/100: no room, so an old task is stopped first; never below one serving, never above two running", async () => {
    const tight = { minimumHealthyPercent: 50, maximumPercent: 100 };
    const world = await runningVersion1(tight);
    const events: string[] = [];
    const result = await world.deploy(definition("good", "2", tight), events);
    expect(result).toMatchObject({ outcome: "steady", started: 2, stopped: 2 });
    expect(events).toEqual([
      ...[deregistered(1), stopped(1), started(3), registered(1)],
      ...[deregistered(1), stopped(2), started(4), registered(1), steady],
    ]);
    expect(world.state()).toEqual({ revisions: ["2", "2"], allServing: true });
    expect(world.minServing).toBe(1);
    expect(world.maxRunning).toBe(2);
  });
});

describe("ECS's deployment circuit breaker", () => {
  it("has ECS's threshold: half the desired count, at least 3, at most 200", () => {
    expect([1, 2, 6, 7, 10, 399, 400, 1000].map(circuitBreakerThreshold)).toEqual([3, 3, 3, 4, 5, 200, 200, 200]);
  });

  it("counts tasks that exit, a batch at a time, trips at the threshold and rolls back", async () => {
    const world = await runningVersion1();
    const events: string[] = [];
    const result = await world.deploy(definition("exit", "3"), events);
    expect(result).toMatchObject({ outcome: "rolled back", started: 4, stopped: 0, failedTasks: 4 });
    expect(result.failures[0]).toBe(
      `${taskName(world.startedRevisions.length ? "a00000000003" : "")}: ${exited}\n  cannot start: FEATURE_FLAG is not set`,
    );
    expect(events).toEqual([
      ...[started(3, 4), registered(2), failed(3, exited), failed(4, exited)],
      ...[started(5, 6), registered(2), failed(5, exited), failed(6, exited), tripped, rollingBack, steady],
    ]);
    expect(world.state()).toEqual({ revisions: ["1", "1"], allServing: true });
    expect(world.minServing).toBe(2);
  });

  it("counts tasks never healthy only after the grace period", async () => {
    const world = await runningVersion1();
    const events: string[] = [];
    const times: number[] = [];
    const from = world.now;
    const result = await world.deploy(definition("unhealthy", "3"), events, undefined, () => times.push(world.now));
    expect(result).toMatchObject({ outcome: "rolled back", failedTasks: 4 });
    expect(result.failures[0]).toBe(`task-a00000000003: ${unhealthy}`);
    expect(events).toEqual([
      ...[started(3, 4), registered(2), failed(3, unhealthy), failed(4, unhealthy)],
      ...[started(5, 6), registered(2), failed(5, unhealthy), failed(6, unhealthy), tripped, rollingBack, steady],
    ]);
    // The grace period: 10 s at ten times the speed, never under MIN_GRACE_MS (2 s).
    expect(times[2]! - from).toBeGreaterThan(2_000);
    expect(world.state()).toEqual({ revisions: ["1", "1"], allServing: true });
  });

  it("trips at the threshold and stops the new tasks still running", async () => {
    const four = { minimumHealthyPercent: 100, maximumPercent: 200, desiredCount: 4 };
    const world = await runningVersion1(four);
    const events: string[] = [];
    const result = await world.deploy(definition("flaky", "3", four), events);
    expect(result).toMatchObject({ outcome: "rolled back", started: 6, stopped: 0, failedTasks: 3 });
    expect(events).toEqual([
      ...[started(5, 6, 7, 8), registered(4), failed(5, exited), failed(7, exited)],
      ...[started(9, 10), registered(2), failed(9, exited), tripped],
      ...[failed(6, scaledIn), failed(8, scaledIn), failed(10, scaledIn), rollingBack, steady],
    ]);
    expect(world.state()).toEqual({ revisions: ["1", "1", "1", "1"], allServing: true });
    expect(world.minServing).toBe(4);
  });

  it("50/100: the rollback starts the previous revision again, back to its desired count", async () => {
    const tight = { minimumHealthyPercent: 50, maximumPercent: 100, desiredCount: 4 };
    const world = await runningVersion1(tight);
    const events: string[] = [];
    const result = await world.deploy(definition("exit", "6", tight), events);
    expect(result).toMatchObject({ outcome: "rolled back", stopped: 2, failedTasks: 4, started: 6 });
    expect(events).toEqual([
      ...[deregistered(2), stopped(1, 2), started(5, 6), registered(2), failed(5, exited), failed(6, exited)],
      ...[started(7, 8), registered(2), failed(7, exited), failed(8, exited), tripped, rollingBack],
      ...[started(9, 10), steady],
    ]);
    // Started from the previous revision's task definition, as any task is.
    expect(world.startedRevisions.slice(-2)).toEqual(Array(2).fill(world.startedRevisions[0]));
    expect(world.state()).toEqual({ revisions: ["1", "1", "1", "1"], allServing: true });
    expect(world.minServing).toBe(2);
    expect(world.maxRunning).toBe(4);
    expect((await world.deploy(definition("good", "1", tight))).outcome).toBe("unchanged");
  });

  it("fails with one sentence when a first deployment fails and there is nothing to roll back to", async () => {
    const world = new World();
    const events: string[] = [];
    const error = await world.deploy(definition("exit", "5"), events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toBe(
      `The ECS deployment of ${IMAGE} failed: 4 tasks failed to start, and there is no earlier deployment to roll back to.`,
    );
    expect(events.at(-1)).toBe(tripped);
    expect(world.state()).toEqual({ revisions: [], allServing: true });
  });
});

describe("a re-run after an interruption", () => {
  it("adopts running tasks of the wanted revision, registers those not registered, and forgets stopped ones", async () => {
    const world = await runningVersion1();
    const v2 = { container: definition("good", "2").container, memoryMiB: 512 };
    const [a, b, gone] = await Promise.all([1, 2, 3].map(() => world.runtime.startTask(v2)));
    await world.targetGroup.registerTarget(taskName(a!.task.id), "10.0.0.3");
    world.tasks.get(gone!.task.id)!.stopped = true;
    // A target left draining when the run that deregistered it was stopped.
    world.targets.get(taskName([...world.tasks.keys()][0]!))!.draining = true;

    const events: string[] = [];
    const result = await world.deploy(definition("good", "2"), events);
    expect(result).toMatchObject({ outcome: "steady", started: 0, stopped: 2 });
    expect(world.targets.has(taskName(b!.task.id))).toBe(true);
    expect(events).toEqual([deregistered(1), stopped(1), deregistered(1), stopped(2), steady]);
    expect(world.state()).toEqual({ revisions: ["2", "2"], allServing: true });
  });

  const roomy = { minimumHealthyPercent: 100, maximumPercent: 200 };
  const tight = { minimumHealthyPercent: 50, maximumPercent: 100 };
  const trippedAt = /deployment failed: tasks failed to start/;
  it.each([
    ["100/200", "good", /has started/, roomy],
    ["100/200", "good", /\) registered/, roomy],
    ["100/200", "good", /deregistered/, roomy],
    ["100/200", "good", /has stopped \d+ running tasks: [^:]*$/, roomy],
    ["50/100", "good", /has started/, tight],
    ["50/100", "good", /\) registered/, tight],
    ["50/100", "good", /deregistered/, tight],
    ["50/100", "good", /has stopped \d+ running tasks: [^:]*$/, tight],
    ["100/200", "unhealthy", /Task failed ELB health checks/, roomy],
    ["100/200", "unhealthy", trippedAt, roomy],
    ["50/100", "exit", /has stopped \d+ running tasks: [^:]*$/, tight],
    ["50/100", "exit", trippedAt, tight],
    ["50/100", "exit", /rolling back/, tight],
  ] as const)(
    "%s, the %s release interrupted at %s: the re-run ends with the desired tasks",
    async (_, mode, at, deployment) => {
      const world = await runningVersion1(deployment);
      const desired = 2;
      const release = definition(mode, "2", deployment);
      const interrupt = new AbortController();
      const interrupted = await world
        .deploy(release, [], interrupt.signal, (e) => {
          if (at.test(e)) interrupt.abort(new Error("interrupted"));
        })
        .catch((e: unknown) => e);
      expect(interrupted).toEqual(new Error("interrupted"));
      // Nothing goes on behind the caller's back once the deployment has thrown.
      const operations = world.operations;
      await new Promise((r) => setTimeout(r, 5));
      expect(world.operations).toBe(operations);

      const result = await world.deploy(release);
      const version = mode === "good" ? "2" : "1";
      expect(result.outcome).toEqual(mode === "good" ? expect.stringMatching(/steady|unchanged/) : "rolled back");
      expect(world.state()).toEqual({ revisions: Array(desired).fill(version), allServing: true });
      expect(world.minServing).toBeGreaterThanOrEqual(Math.ceil((desired * deployment.minimumHealthyPercent) / 100));
      expect(world.maxRunning).toBeLessThanOrEqual((desired * deployment.maximumPercent) / 100);
      if (mode === "good") return;
      // After the rollback, the fix ships.
      expect(await world.deploy(definition("good", "3", deployment))).toMatchObject({ outcome: "steady" });
      expect(world.state()).toEqual({ revisions: Array(desired).fill("3"), allServing: true });
    },
  );

  it("a release interrupted as its breaker tripped: the re-run counts anew and adopts the new tasks still running", async () => {
    const four = { minimumHealthyPercent: 100, maximumPercent: 200, desiredCount: 4 };
    const world = await runningVersion1(four);
    const release = definition("flaky", "2", four);
    const interrupt = new AbortController();
    const trip = (e: string) => trippedAt.test(e) && interrupt.abort(new Error("interrupted"));
    expect(await world.deploy(release, [], interrupt.signal, trip).catch((e: unknown) => e)).toEqual(
      new Error("interrupted"),
    );
    // Tasks 6, 8 and 10 were healthy when the breaker tripped; the trip and its 3 failures are not kept.
    const events: string[] = [];
    const result = await world.deploy(release, events);
    expect(result).toMatchObject({ outcome: "steady", started: 2, failedTasks: 1 });
    expect(events).toContain(failed(11, exited));
    expect(events).not.toContain(tripped);
    expect(world.state()).toEqual({ revisions: ["2", "2", "2", "2"], allServing: true });
    expect(world.minServing).toBe(4);
  });
});
