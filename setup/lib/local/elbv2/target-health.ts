// The target group's health model: a target's state in the ALB's words
// (initial, healthy, unhealthy, draining), decided from what its health checks
// report and for how long, and the deregistration delay's draining rule. The
// proxy counts the checks (rise/fall, failures) and reports raw facts; the
// time is read from a clock, so the rules run in milliseconds under a test.
import { checkIntervalMs, checkTimeoutMs, deregistrationDelayMs, type TargetGroupSettings } from "./settings.ts";

/** Milliseconds from an arbitrary origin that never goes back. */
export interface Clock {
  now(): number;
}

/** This process's monotonic clock. */
export const processClock: Clock = { now: () => performance.now() };

/** A target's state, in the ALB's words. */
export type TargetHealth = "initial" | "healthy" | "unhealthy" | "draining";

/** What the proxy's checks report about one target, in the proxy's words (HAProxy's statistics). */
export interface CheckReport {
  /** The server name: the task's id. */
  readonly id: string;
  /** "UP", "UP 1/2" (going down), "DOWN", "DOWN 1/2" (going up), "DRAIN", "MAINT", "NOLB", … */
  readonly status: string;
  /** The last check's result: "" or "INI" none yet, "L4OK", "L6OK", "L7OK" passed, anything else failed. */
  readonly checkStatus: string;
  /** Checks failed while the target was up (chkfail). */
  readonly failedChecks: number;
  /** Whole seconds since the status last changed (lastchg). */
  readonly lastChangeSeconds: number;
  /** Connections open to it now (scur). */
  readonly connections: number;
}

export interface TargetHealthDescription {
  /** The server name: the task's id. */
  readonly id: string;
  readonly health: TargetHealth;
  /** Connections open to it now. */
  readonly connections: number;
}

/** Check results that are not a failure: none run yet, or passed. */
const NOT_FAILED = ["", "INI", "L4OK", "L6OK", "L7OK"];

/**
 * How long a target that was never healthy fails before it is unhealthy: as
 * long as `unhealthyThreshold` checks take, the last one allowed its whole
 * timeout (never under MIN_CHECK_TIMEOUT_MS).
 */
export const unhealthyAfterMs = (tg: TargetGroupSettings, speedup: number): number =>
  tg.unhealthyThreshold * checkIntervalMs(tg, speedup) + checkTimeoutMs(tg, speedup);

/**
 * A target's state from its check report, `failingMs` being how long it has
 * been failing since it was registered. Draining (or taken out) comes first;
 * up is healthy (the proxy brings a target up after `healthyThreshold` passed
 * checks in a row, and keeps it up until `unhealthyThreshold` failed); down is
 * unhealthy once its last check failed and it failed long enough: a target
 * that was healthy counts its failures, one that never was has been failing
 * for `unhealthyAfterMs`. Anything else is still initial.
 */
export function judgeTarget(
  report: CheckReport,
  failingMs: number,
  tg: TargetGroupSettings,
  speedup: number,
): TargetHealth {
  if (/^(DRAIN|MAINT|NOLB)/.test(report.status)) return "draining";
  if (report.status.startsWith("UP")) return "healthy";
  const failing = !NOT_FAILED.includes(report.checkStatus);
  const failedLongEnough = report.failedChecks >= tg.unhealthyThreshold || failingMs >= unhealthyAfterMs(tg, speedup);
  return report.status === "DOWN" && failing && failedLongEnough ? "unhealthy" : "initial";
}

/** A deregistering target's draining, from the moment it stopped getting new requests. */
export interface Drain {
  /** Whether the deregistration delay has passed (at once when the target is not drained). */
  expired(): boolean;
  /** Whether draining is over: the delay has passed, or the target is gone (undefined) or has no connection open. */
  over(connections: number | undefined): boolean;
  /** How long it has drained so far, in whole milliseconds. */
  elapsedMs(): number;
}

/**
 * One target group's health model: its settings, the rehearsal's speed-up,
 * and when each of its targets was registered through it. A target registered
 * elsewhere (another process, another handle on the same proxy) has been
 * failing, as far as the model knows, since its status last changed.
 */
export class TargetGroupHealth {
  readonly targetGroup: TargetGroupSettings;
  readonly speedup: number;
  readonly #clock: Clock;
  /** When each target was registered, by its id, on the clock. */
  readonly #registeredAt = new Map<string, number>();

  constructor(targetGroup: TargetGroupSettings, speedup: number, clock: Clock = processClock) {
    this.targetGroup = targetGroup;
    this.speedup = speedup;
    this.#clock = clock;
  }

  /** A target was registered now. */
  registered(id: string): void {
    this.#registeredAt.set(id, this.#clock.now());
  }

  /** A target was deregistered: it is forgotten. */
  deregistered(id: string): void {
    this.#registeredAt.delete(id);
  }

  /** How long a target has been failing, at most: since it was registered, else since its status changed. */
  failingMs(report: CheckReport): number {
    const since = this.#registeredAt.get(report.id);
    return since === undefined ? report.lastChangeSeconds * 1000 : this.#clock.now() - since;
  }

  /** A target's state and open connections from its check report. */
  describe(report: CheckReport): TargetHealthDescription {
    const health = judgeTarget(report, this.failingMs(report), this.targetGroup, this.speedup);
    return { id: report.id, health, connections: report.connections };
  }

  /**
   * Draining as the ALB does it, starting now: the target keeps the requests
   * in flight until none is left or the deregistration delay has passed,
   * whichever is first. With `drain: false` it is over at once.
   */
  startDrain({ drain = true }: { drain?: boolean } = {}): Drain {
    const clock = this.#clock;
    const started = clock.now();
    const deadline = drain ? started + deregistrationDelayMs(this.targetGroup, this.speedup) : started;
    const expired = () => clock.now() >= deadline;
    return {
      expired,
      over: (connections) => expired() || connections === undefined || connections === 0,
      elapsedMs: () => Math.round(clock.now() - started),
    };
  }
}
