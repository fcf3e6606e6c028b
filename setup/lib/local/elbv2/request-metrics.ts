// The load balancer's CloudWatch metrics, from what the proxy saw. HAProxy
// logs one line per request (REQUEST_LOG_FORMAT, on the container's stdout):
// how long the target took to answer, the status, and whether a target
// answered at all or the listener did (its fixed response, or 503 with no
// healthy target). A period's lines become the AWS/ApplicationELB metrics an
// ALB publishes, same names, units and dimensions:
//   RequestCount (Sum), TargetResponseTime (seconds, one value per request, so
//   percentiles can be taken), HTTPCode_Target_2XX/4XX/5XX_Count,
//   HTTPCode_ELB_5XX_Count, and HealthyHostCount/UnHealthyHostCount per
//   target group. Like the ALB, a count that is zero and a response time with
//   no request are not published, and a request whose client left before the
//   answer counts as a 460 with no response time.
import type { Dimension, MetricDatum } from "@aws-sdk/client-cloudwatch";

/**
 * HAProxy's log-format for each request: time to the target's response headers (%Tr, -1 if none),
 * status, server, and how the session ended (%tsc: a first letter C is the client closing first).
 */
export const REQUEST_LOG_FORMAT = "lab-request tr=%Tr status=%ST server=%s end=%tsc";

export interface RequestRecord {
  readonly at: Date;
  /** Seconds from sending the request to the target until its response headers; undefined when no target answered. */
  readonly targetSeconds?: number;
  readonly status: number;
  /** Whether a target answered (else the listener's own response). */
  readonly target: boolean;
}

const LINE = /lab-request tr=(-?\d+) status=(-?\d+) server=(\S+)(?: end=(\S+))?/;

/** The ALB's status for a request whose client closed the connection before the answer. */
export const CLIENT_CLOSED = 460;

/** One log line (with the engine's timestamp before it) as a request; undefined for any other line. */
export function parseRequestLine(line: string): RequestRecord | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const stamp = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)\s/.exec(line)?.[1];
  const at = stamp ? new Date(stamp) : new Date();
  // The client left first (HAProxy's termination state C…): the ALB counts a 460, with no target time.
  if (m[4]?.startsWith("C")) return { at, status: CLIENT_CLOSED, target: false };
  const tr = Number(m[1]);
  const target = m[3] !== "<NOSRV>" && tr >= 0;
  return { at, status: Number(m[2]), target, ...(target ? { targetSeconds: tr / 1000 } : {}) };
}

/** The metrics the load balancer stand-in publishes, for checking that an alarm watches one of them. */
export const PUBLISHED_METRICS = [
  "RequestCount",
  "TargetResponseTime",
  "HTTPCode_Target_2XX_Count",
  "HTTPCode_Target_4XX_Count",
  "HTTPCode_Target_5XX_Count",
  "HTTPCode_ELB_5XX_Count",
  "HealthyHostCount",
  "UnHealthyHostCount",
] as const;

export interface PeriodMetrics {
  /** CloudWatch's name for the load balancer, app/<name>/<id>, and the target group's, targetgroup/<name>/<id>. */
  readonly loadBalancer: string;
  readonly targetGroup: string;
  readonly timestamp: Date;
  readonly requests: readonly RequestRecord[];
  readonly healthy: number;
  readonly unhealthy: number;
}

/** One period's requests and target health as the ALB's metric data. */
export function periodMetrics(p: PeriodMetrics): MetricDatum[] {
  const lb: Dimension[] = [{ Name: "LoadBalancer", Value: p.loadBalancer }];
  const tg = [{ Name: "TargetGroup", Value: p.targetGroup }, ...lb];
  const datum = (MetricName: string, Unit: MetricDatum["Unit"], Value: number, Dimensions = lb): MetricDatum => ({
    MetricName,
    Dimensions,
    Timestamp: p.timestamp,
    Unit,
    Value,
  });
  const count = (name: string, n: number) => (n > 0 ? [datum(name, "Count", n)] : []);
  const byTarget = p.requests.filter((r) => r.target);
  const classOf = (r: RequestRecord) => Math.floor(r.status / 100);
  const times = byTarget.flatMap((r) => (r.targetSeconds === undefined ? [] : [r.targetSeconds]));
  return [
    ...count("RequestCount", p.requests.length),
    ...responseTimes(times, lb, p.timestamp),
    ...count("HTTPCode_Target_2XX_Count", byTarget.filter((r) => classOf(r) === 2).length),
    ...count("HTTPCode_Target_4XX_Count", byTarget.filter((r) => classOf(r) === 4).length),
    ...count("HTTPCode_Target_5XX_Count", byTarget.filter((r) => classOf(r) === 5).length),
    ...count("HTTPCode_ELB_5XX_Count", p.requests.filter((r) => !r.target && classOf(r) === 5).length),
    datum("HealthyHostCount", "Count", p.healthy, tg),
    datum("UnHealthyHostCount", "Count", p.unhealthy, tg),
  ];
}

/**
 * Every request's time, so that percentiles can be taken from them: as
 * PutMetricData takes them, distinct values (HAProxy measures whole
 * milliseconds) with how often each occurred, at most 150 values a datum.
 */
function responseTimes(times: readonly number[], lb: Dimension[], timestamp: Date): MetricDatum[] {
  const counts = new Map<number, number>();
  for (const t of times) counts.set(t, (counts.get(t) ?? 0) + 1);
  const distinct = [...counts].sort(([a], [b]) => a - b);
  const data: MetricDatum[] = [];
  for (let i = 0; i < distinct.length; i += 150) {
    const chunk = distinct.slice(i, i + 150);
    data.push({
      MetricName: "TargetResponseTime",
      Dimensions: lb,
      Timestamp: timestamp,
      Unit: "Seconds",
      Values: chunk.map(([v]) => v),
      Counts: chunk.map(([, n]) => n),
    });
  }
  return data;
}

/** The raw samples of one metric in a period's data (every request's time for TargetResponseTime). */
export function samplesOf(data: readonly MetricDatum[], metricName: string): number[] {
  return data
    .filter((d) => d.MetricName === metricName)
    .flatMap((d) =>
      d.Values
        ? d.Values.flatMap((v, i) => Array.from({ length: d.Counts?.[i] ?? 1 }, () => v))
        : d.Value === undefined
          ? []
          : [d.Value],
    );
}
