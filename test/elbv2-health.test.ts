// The target group's health model (setup/lib/local/elbv2/target-health.ts)
// over a clock the test moves: the ALB's states from what the checks report
// and for how long, and the deregistration delay's draining. No proxy: the
// reports are written as HAProxy's statistics give them (target-group checks
// every 5 s, 2 s timeout, 2 up, 2 down, 10 s draining, as infra/service.yaml).
import { describe, expect, it } from "vitest";
import type { TargetGroupSettings } from "../setup/lib/local/elbv2/settings.ts";
import {
  type CheckReport,
  type Clock,
  judgeTarget,
  TargetGroupHealth,
  unhealthyAfterMs,
} from "../setup/lib/local/elbv2/target-health.ts";

const TARGET_GROUP: TargetGroupSettings = {
  port: 8080,
  healthCheckPath: "/health",
  intervalSeconds: 5,
  timeoutSeconds: 2,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  successCodes: "200",
  deregistrationDelaySeconds: 10,
};

/** A clock that moves only when told. */
function fakeClock(): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = 0;
  return {
    now: () => now,
    advance: (ms) => (now += ms),
    set: (ms) => (now = ms),
  };
}

/** A target just registered: down, no check run yet, as HAProxy shows it. */
const report = (overrides: Partial<CheckReport> = {}): CheckReport => ({
  id: "task-a",
  status: "DOWN",
  checkStatus: "INI",
  failedChecks: 0,
  lastChangeSeconds: 0,
  connections: 0,
  ...overrides,
});

/** A model at ten times AWS's speed: checks every 500 ms, a 1 s timeout (the floor), 5 s of draining at most (the floor). */
function model(tg: TargetGroupSettings = TARGET_GROUP, speedup = 10) {
  const clock = fakeClock();
  return { clock, health: new TargetGroupHealth(tg, speedup, clock) };
}

describe("a new target", () => {
  it("is initial until its checks have passed healthyThreshold times in a row, then healthy", () => {
    const { clock, health } = model();
    health.registered("task-a");
    expect(health.describe(report()).health).toBe("initial");
    clock.advance(500);
    // One check passed: HAProxy shows it going up, one of two.
    expect(health.describe(report({ status: "DOWN 1/2", checkStatus: "L7OK" })).health).toBe("initial");
    clock.advance(500);
    expect(health.describe(report({ status: "UP", checkStatus: "L7OK" })).health).toBe("healthy");
  });

  it("stays initial, however long, while no check has failed (none run, or passing on the way up)", () => {
    const { clock, health } = model();
    health.registered("task-a");
    clock.advance(60_000);
    expect(health.describe(report()).health).toBe("initial");
    expect(health.describe(report({ checkStatus: "" })).health).toBe("initial");
    expect(health.describe(report({ status: "DOWN 1/2", checkStatus: "L7OK" })).health).toBe("initial");
    // A check under way shows the last result prefixed "* ": going up, the target is not failing.
    expect(health.describe(report({ status: "DOWN 1/2", checkStatus: "* L7OK" })).health).toBe("initial");
    expect(health.describe(report({ status: "DOWN", checkStatus: "* L4CON" })).health).toBe("unhealthy");
  });

  it("failing, is unhealthy after unhealthyThreshold × interval plus one check timeout since registration", () => {
    const { clock, health } = model();
    clock.set(10_000);
    health.registered("task-a");
    // 2 checks × 500 ms + a 1 s timeout.
    expect(unhealthyAfterMs(TARGET_GROUP, 10)).toBe(2_000);
    for (const checkStatus of ["L4CON", "L4TOUT", "L7STS", "L7RSP"]) {
      clock.set(10_000 + 1_999);
      expect(health.describe(report({ checkStatus })).health).toBe("initial");
      clock.set(10_000 + 2_000);
      expect(health.describe(report({ checkStatus })).health).toBe("unhealthy");
    }
  });

  it("counts from its registration on this model, not from when the proxy last changed its status", () => {
    const { clock, health } = model();
    health.registered("task-a");
    clock.advance(500);
    // HAProxy's whole seconds say it has been failing for a minute; the model registered it half a second ago.
    expect(health.describe(report({ checkStatus: "L4CON", lastChangeSeconds: 60 })).health).toBe("initial");
  });

  it("registered elsewhere (another process or handle), counts from the proxy's last status change", () => {
    const { health } = model();
    const failing = (lastChangeSeconds: number) => report({ checkStatus: "L4CON", lastChangeSeconds });
    expect(health.describe(failing(1)).health).toBe("initial");
    expect(health.describe(failing(2)).health).toBe("unhealthy");
  });

  it("once deregistered, is forgotten: its registration time no longer counts", () => {
    const { clock, health } = model();
    health.registered("task-a");
    clock.advance(5_000);
    expect(health.failingMs(report())).toBe(5_000);
    health.deregistered("task-a");
    expect(health.failingMs(report({ lastChangeSeconds: 1 }))).toBe(1_000);
    expect(health.describe(report({ checkStatus: "L4CON", lastChangeSeconds: 1 })).health).toBe("initial");
  });
});

describe("the check timeout in the unhealthy deadline", () => {
  it("is never under a second: 2 s ten times faster would be 200 ms", () => {
    expect(unhealthyAfterMs(TARGET_GROUP, 10)).toBe(2 * 500 + 1_000);
    const { clock, health } = model();
    health.registered("task-a");
    clock.advance(2 * 500 + 200);
    expect(health.describe(report({ checkStatus: "L4TOUT" })).health).toBe("initial");
  });

  it("is the template's when sped up it is still over the floor, and the template's as written at speed 1", () => {
    expect(unhealthyAfterMs({ ...TARGET_GROUP, timeoutSeconds: 30 }, 10)).toBe(2 * 500 + 3_000);
    expect(unhealthyAfterMs(TARGET_GROUP, 1)).toBe(2 * 5_000 + 2_000);
    const { clock, health } = model(TARGET_GROUP, 1);
    health.registered("task-a");
    clock.advance(11_999);
    expect(health.describe(report({ checkStatus: "L7STS" })).health).toBe("initial");
    clock.advance(1);
    expect(health.describe(report({ checkStatus: "L7STS" })).health).toBe("unhealthy");
  });

  it("scales with unhealthyThreshold and the interval", () => {
    expect(unhealthyAfterMs({ ...TARGET_GROUP, unhealthyThreshold: 5, intervalSeconds: 30 }, 10)).toBe(
      5 * 3_000 + 1_000,
    );
  });
});

describe("a healthy target", () => {
  it("stays healthy while it fails fewer than unhealthyThreshold checks, then is unhealthy at once", () => {
    const { clock, health } = model();
    health.registered("task-a");
    clock.advance(1_000);
    expect(health.describe(report({ status: "UP", checkStatus: "L7OK" })).health).toBe("healthy");
    clock.advance(200);
    // One failure: HAProxy shows it going down, one of two; the ALB still sends it requests.
    const once = report({ status: "UP 1/2", checkStatus: "L7STS", failedChecks: 1 });
    expect(health.describe(once).health).toBe("healthy");
    clock.advance(200);
    // The second failure, 1.4 s after registration (under the never-healthy 2 s): its failures count.
    const twice = report({ status: "DOWN", checkStatus: "L7STS", failedChecks: 2, lastChangeSeconds: 0 });
    expect(health.describe(twice).health).toBe("unhealthy");
  });

  it("registered elsewhere, is unhealthy when it has failed unhealthyThreshold checks, not before", () => {
    const { health } = model();
    const down = (failedChecks: number) => report({ checkStatus: "L4CON", failedChecks, lastChangeSeconds: 0 });
    expect(health.describe(down(1)).health).toBe("initial");
    expect(health.describe(down(2)).health).toBe("unhealthy");
    expect(judgeTarget(down(3), 0, TARGET_GROUP, 10)).toBe("unhealthy");
  });
});

describe("a target taken out", () => {
  it("is draining whatever its checks say, with its open connections", () => {
    const { clock, health } = model();
    health.registered("task-a");
    clock.advance(60_000);
    for (const status of ["DRAIN", "DRAIN (agent)", "MAINT", "MAINT (resolution)", "NOLB"])
      expect(health.describe(report({ status, checkStatus: "L4CON", failedChecks: 5, connections: 3 }))).toEqual({
        id: "task-a",
        health: "draining",
        connections: 3,
      });
  });
});

describe("the deregistration delay", () => {
  it("ends early when the target has no connection open, or is gone", () => {
    const { clock, health } = model();
    const drain = health.startDrain();
    expect(drain.expired()).toBe(false);
    expect(drain.over(2)).toBe(false);
    clock.advance(350);
    expect(drain.over(1)).toBe(false);
    clock.advance(50);
    expect(drain.over(0)).toBe(true);
    expect(drain.over(undefined)).toBe(true);
    expect(drain.elapsedMs()).toBe(400);
  });

  it("ends at the delay (10 s, at the 5 s floor: requests are not faster here) even with connections open", () => {
    const { clock, health } = model();
    clock.set(5_000);
    const drain = health.startDrain({ drain: true });
    clock.advance(4_999);
    expect(drain.expired()).toBe(false);
    expect(drain.over(4)).toBe(false);
    clock.advance(1);
    expect(drain.expired()).toBe(true);
    expect(drain.over(4)).toBe(true);
    expect(drain.elapsedMs()).toBe(5_000);
  });

  it("is over at once without draining, and after the shortest time with a delay of 0", () => {
    const { clock, health } = model({ ...TARGET_GROUP, deregistrationDelaySeconds: 0 });
    const none = health.startDrain({ drain: false });
    expect(none.expired()).toBe(true);
    expect(none.over(7)).toBe(true);
    expect(none.elapsedMs()).toBe(0);
    const zero = health.startDrain();
    clock.advance(1);
    expect(zero.over(7)).toBe(true);
  });

  it("as a deregistration polls it: ends at the first report with no connection left", () => {
    const { clock, health } = model();
    const drain = health.startDrain();
    const connections = [3, 2, 1, 0, 0];
    let polls = 0;
    while (!drain.expired()) {
      if (drain.over(connections[polls++])) break;
      clock.advance(50);
    }
    expect(polls).toBe(4);
    expect(drain.elapsedMs()).toBe(150);
  });
});
