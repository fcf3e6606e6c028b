// Resuming any interrupted deployment (setup/lib/local/ecs/deployment.ts), in
// the in-memory world of test/support/ecs-world.ts: a re-run reads what the
// interrupted one left as ECS would see the service's deployments, and a
// deployment that can never become steady ends, saying what it waited for,
// within its deadline.
import { describe, expect, it } from "vitest";
import { StepError } from "../setup/lib/errors.ts";
import { deploymentDeadlineMs, WAITING_NOTICE_MS } from "../setup/lib/local/ecs/deployment.ts";
import type { World } from "./support/ecs-world.ts";
import { definition, NAME, rollingBack, runningVersion1, tripped } from "./support/ecs-world.ts";

const interrupted = new Error("interrupted");

/** Deploys until the first event matching `at` (after one matching `after`), interrupted there; resolves when it has thrown. */
async function interruptAt(
  world: World,
  service: ReturnType<typeof definition>,
  at: RegExp,
  after?: RegExp,
): Promise<string[]> {
  const events: string[] = [];
  const abort = new AbortController();
  const thrown = await world
    .deploy(service, events, abort.signal, (e) => {
      const ready = !after || events.slice(0, -1).some((earlier) => after.test(earlier));
      if (ready && at.test(e) && !abort.signal.aborted) abort.abort(interrupted);
    })
    .catch((e: unknown) => e);
  expect(thrown).toBe(interrupted);
  return events;
}

describe("a re-run reads the deployments an interrupted one left", () => {
  it("stops the tasks of a deployment a newer one replaced, and replaces the last steady revision", async () => {
    const world = await runningVersion1();
    // Version 2's deployment interrupted with its tasks started: versions 1 and 2 run side by side.
    await interruptAt(world, definition("good", "2"), /has started 2 tasks/);
    expect(world.state().revisions.sort()).toEqual(["1", "1", "2", "2"]);

    const events: string[] = [];
    const result = await world.deploy(definition("good", "3"), events);

    expect(result.outcome).toBe("steady");
    // Version 2's tasks (3 and 4) go at once; version 1's are the ones replaced by version 3's.
    expect(events[0]).toBe(
      `${NAME} has stopped 2 running tasks: (task a00000000003) (task a00000000004): Task stopped by a newer deployment.`,
    );
    expect(events.at(-1)).toBe(`${NAME} has reached a steady state.`);
    expect(world.state()).toEqual({ revisions: ["3", "3"], allServing: true });
  });

  it("replaces a replaced deployment's serving tasks like the steady ones, never below the minimum", async () => {
    const world = await runningVersion1();
    // Version 2 interrupted as it began draining version 1: version 2 serves, version 1 drains.
    await interruptAt(world, definition("good", "2"), /deregistered 2 targets/);
    world.watch();
    const events: string[] = [];
    await world.deploy(definition("good", "3"), events);
    // Nothing was stopped at once: every task still serving was replaced as version 3's turned healthy.
    expect(events.some((e) => e.includes("Task stopped by a newer deployment"))).toBe(false);
    expect(world.minServing).toBeGreaterThanOrEqual(2);
    expect(world.state()).toEqual({ revisions: ["3", "3"], allServing: true });
  });

  it("counts never-healthy tasks a run left toward the breaker, from when they started, and rolls back", async () => {
    const world = await runningVersion1();
    // The failing release interrupted while its tasks fail their health checks.
    await interruptAt(world, definition("unhealthy", "bad"), /registered 2 targets/);
    world.now += 60_000; // the re-run comes a minute later: their grace period is long over
    const events: string[] = [];
    const result = await world.deploy(definition("unhealthy", "bad"), events);
    expect(result.outcome).toBe("rolled back");
    expect(result.failedTasks).toBeGreaterThanOrEqual(3);
    expect(events).toContain(tripped);
    expect(world.state()).toEqual({ revisions: ["1", "1"], allServing: true });
  });

  it.each([
    ["the breaker tripped", /deployment failed: tasks failed to start/, undefined],
    ["the rollback under way", /rolling back to the deployment/, undefined],
    ["the rollback's tasks started", /has started 1 tasks/, /rolling back to the deployment/],
  ])("a rollback interrupted at %s completes on the re-run", async (_moment, at, after) => {
    const tight = { minimumHealthyPercent: 50, maximumPercent: 100 };
    const world = await runningVersion1(tight);
    const first = await interruptAt(world, definition("exit", "bad", tight), at, after);
    if (after) expect(first).toContain(rollingBack);

    // The re-run deploys what the stack says (the failing revision, its CloudFormation rollback not done)…
    const again = await world.deploy(definition("exit", "bad", tight)).catch((e: unknown) => e);
    if (!(again instanceof StepError)) expect(again).toMatchObject({ outcome: "rolled back" });
    // …and CloudFormation's rollback then deploys the previous revision: exactly the desired tasks of version 1.
    await world.deploy(definition("good", "1", tight));
    expect(world.state()).toEqual({ revisions: ["1", "1"], allServing: true });
  });
});

describe("no endless wait", () => {
  it("a deployment whose targets never settle ends at its deadline, saying what it waited for", async () => {
    const world = await runningVersion1();
    const service = definition("silent", "2");
    const deadline = deploymentDeadlineMs(service, 10);
    const waiting: Array<{ at: number; text: string }> = [];
    const began = world.now;

    const error = (await world
      .deploy(service, [], undefined, undefined, (text) => waiting.push({ at: world.now, text }))
      .catch((e: unknown) => e)) as StepError;

    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toBe(
      `The ECS deployment of aws-cicd-lab-test/task:1 did not reach a steady state within ${Math.round(deadline / 1000)} s (what the template's timers allow for its tasks): it was waiting for 2 new tasks to turn healthy (2 initial) and 2 old tasks to be replaced.`,
    );
    expect(error.hint).toMatch(/run the same command again/);
    const took = world.now - began;
    expect(took).toBeGreaterThan(deadline);
    expect(took).toBeLessThan(deadline + 1_000);
    // Said what it waited for at least every ten seconds, between the events.
    expect(waiting.length).toBeGreaterThanOrEqual(Math.floor(deadline / WAITING_NOTICE_MS) - 1);
    for (const [i, w] of waiting.entries()) {
      expect(w.text).toMatch(/is waiting for 2 new tasks to turn healthy \(2 initial\)/);
      const since = i === 0 ? began : (waiting[i - 1]?.at ?? began);
      expect(w.at - since).toBeLessThanOrEqual(WAITING_NOTICE_MS + 200);
    }
    // The old revision kept serving: nothing was stopped.
    expect(world.state().revisions.filter((r) => r === "1")).toHaveLength(2);
  });

  it("the deadline follows the template's timers: 44.8 s for these numbers at ten times speed (46.8 s for infra/service.yaml's)", () => {
    // grace 10 s, checks 2+2 × 5 s + 2 s, deregistration 5 s (the test's), stop 15 s, desired 2, 100/200.
    expect(deploymentDeadlineMs(definition("good", "1"), 10)).toBe((5_000 + 2_000 + 4_200) * (1 + 3));
  });
});
