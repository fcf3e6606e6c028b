// The load balancer's settings as the templates give them: the listener's
// default action and forward rule, and the target group's health check and
// draining, with AWS's defaults where a property is unset. The target group's
// timers in rehearsal milliseconds come from here too, so the proxy's
// configuration and the health model count the same time.
import { MIN_CHECK_TIMEOUT_MS, MIN_DRAIN_MS, scaled } from "../clock.ts";

/** AWS::ElasticLoadBalancingV2::TargetGroup settings the stand-in honours, AWS's defaults where unset. */
export interface TargetGroupSettings {
  readonly port: number;
  readonly healthCheckPath: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Matcher.HttpCode, e.g. "200" or "200-299". */
  readonly successCodes: string;
  /** The deregistration_delay.timeout_seconds attribute: how long a deregistering target drains. */
  readonly deregistrationDelaySeconds: number;
}

/** The target group's settings from its template properties (as rendered with the stack's parameters). */
export function targetGroupSettings(properties: Readonly<Record<string, unknown>>): TargetGroupSettings {
  const number = (key: string, fallback: number) =>
    properties[key] === undefined ? fallback : Number(properties[key]);
  const attributes = (properties.TargetGroupAttributes ?? []) as Array<{ Key: string; Value: string }>;
  const delay = attributes.find((a) => a.Key === "deregistration_delay.timeout_seconds")?.Value;
  return {
    port: number("Port", 80),
    healthCheckPath: typeof properties.HealthCheckPath === "string" ? properties.HealthCheckPath : "/",
    intervalSeconds: number("HealthCheckIntervalSeconds", 30),
    timeoutSeconds: number("HealthCheckTimeoutSeconds", 5),
    healthyThreshold: number("HealthyThresholdCount", 5),
    unhealthyThreshold: number("UnhealthyThresholdCount", 2),
    successCodes: String((properties.Matcher as { HttpCode?: string } | undefined)?.HttpCode ?? "200"),
    deregistrationDelaySeconds: delay === undefined ? 300 : Number(delay),
  };
}

/** The listener: its default fixed response, and the path patterns its rule forwards to the target group. */
export interface ListenerSettings {
  readonly defaultResponse: { readonly status: number; readonly contentType: string; readonly body: string };
  /** The forward rule's path-pattern values, e.g. ["/*"]; none while no rule forwards (no service yet). */
  readonly forwardPaths: readonly string[];
}

/** The time between two health checks of a target, sped up. */
export const checkIntervalMs = (tg: TargetGroupSettings, speedup: number): number =>
  scaled(tg.intervalSeconds, speedup);

/**
 * A health check's timeout, sped up but never under a second: a busy machine
 * (builds, other tasks) answers slower than 1/10 of the template's timeout,
 * and a slow answer must not count as a failed check.
 */
export const checkTimeoutMs = (tg: TargetGroupSettings, speedup: number): number =>
  Math.max(MIN_CHECK_TIMEOUT_MS, scaled(tg.timeoutSeconds, speedup));

/** The longest a deregistering target drains: sped up, but never under MIN_DRAIN_MS (nor over the template's delay). */
export const deregistrationDelayMs = (tg: TargetGroupSettings, speedup: number): number =>
  Math.max(
    scaled(tg.deregistrationDelaySeconds, speedup),
    Math.min(tg.deregistrationDelaySeconds * 1000, MIN_DRAIN_MS),
  );
