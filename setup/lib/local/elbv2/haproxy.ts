// The listener and the target group in HAProxy's terms (Debian's haproxy 2.6):
// the configuration rendered from the templates (the listener's default action,
// the rule's path patterns, the target group's health check), and its
// statistics read back as what the checks report about each target. Pure
// functions: the proxy container and its runtime API are load-balancer.ts's.
import { checkTimeoutMs, type ListenerSettings, type TargetGroupSettings } from "./settings.ts";
import { REQUEST_LOG_FORMAT } from "./request-metrics.ts";
import type { CheckReport } from "./target-health.ts";

/** The listener's port inside the proxy container, and the runtime API's. */
export const LISTENER_PORT = 8080;
export const RUNTIME_API_PORT = 9999;
/** The one target group's backend. */
export const BACKEND = "tg";

/** What the proxy's configuration is made from. */
export interface ProxySettings {
  readonly listener: ListenerSettings;
  readonly targetGroup: TargetGroupSettings;
  /**
   * Seconds of AWS time per second of rehearsal time: 10 runs the health
   * checks and draining ten times faster than the template says, so a rollout
   * takes seconds; 1 runs them as written.
   */
  readonly speedup: number;
}

/** An ALB path pattern (`*` any characters, `?` one) as an anchored regular expression. */
export function pathRegex(pattern: string): string {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  return `^${escaped.replace(/\*/g, ".*").replace(/\?/g, ".")}$`;
}

/** An HAProxy check expectation for a Matcher.HttpCode: "200", "200,302" or "200-299". */
export function expectStatus(codes: string): string {
  const alternatives = codes.split(",").flatMap((part) => {
    const range = /^(\d{3})-(\d{3})$/.exec(part.trim());
    if (!range) return [part.trim()];
    const from = Number(range[1]);
    return Array.from({ length: Number(range[2]) - from + 1 }, (_, i) => String(from + i));
  });
  return `http-check expect rstatus ^(${alternatives.join("|")})$`;
}

/** The HAProxy configuration for a listener and its target group. */
export function haproxyConfig(spec: ProxySettings): string {
  const { listener, targetGroup: tg, speedup } = spec;
  const response = listener.defaultResponse;
  const fixed = `http-request return status ${response.status} content-type "${response.contentType}" string ${JSON.stringify(response.body)}`;
  const routing =
    listener.forwardPaths.length > 0
      ? [
          `  acl forwarded path -m reg ${listener.forwardPaths.map(pathRegex).join(" ")}`,
          // The listener's default action (fixed-response) for what no rule forwards.
          `  ${fixed} if !forwarded`,
          `  use_backend ${BACKEND} if forwarded`,
        ]
      : ["  # No listener rule forwards yet (no service): every request gets the default action.", `  ${fixed}`];
  return [
    "global",
    // The runtime API, admin level: published on 127.0.0.1 only.
    `  stats socket ipv4@0.0.0.0:${RUNTIME_API_PORT} level admin`,
    // One line per request on stdout, which the load balancer's metrics are made from (request-metrics.ts).
    "  log stdout format raw local0 info",
    "defaults",
    "  mode http",
    "  log global",
    "  timeout connect 2s",
    // The ALB's default idle timeout.
    "  timeout client 60s",
    "  timeout server 60s",
    `  timeout check ${checkTimeoutMs(tg, speedup)}ms`,
    "frontend listener",
    `  bind :${LISTENER_PORT}`,
    `  log-format "${REQUEST_LOG_FORMAT}"`,
    ...routing,
    `backend ${BACKEND}`,
    "  balance roundrobin",
    `  option httpchk GET ${tg.healthCheckPath}`,
    `  ${expectStatus(tg.successCodes)}`,
    "",
  ].join("\n");
}

/**
 * The target group's servers in the runtime API's `show stat` (CSV, its header
 * line starting "# "), each as the raw facts its checks report.
 */
export function checkReports(showStat: string): CheckReport[] {
  const [header, ...rows] = showStat.replace(/^# /, "").trim().split("\n");
  const columns = (header ?? "").split(",");
  const at = (row: string[], name: string) => row[columns.indexOf(name)] ?? "";
  return rows
    .map((line) => line.split(","))
    .filter((row) => at(row, "pxname") === BACKEND && !["FRONTEND", "BACKEND"].includes(at(row, "svname")))
    .map((row) => ({
      id: at(row, "svname"),
      status: at(row, "status"),
      checkStatus: at(row, "check_status"),
      failedChecks: Number(at(row, "chkfail") || 0),
      lastChangeSeconds: Number(at(row, "lastchg") || 0),
      connections: Number(at(row, "scur") || 0),
    }));
}
