// GetMetricData for the rehearsal's dashboard picture. The metrics are in the
// emulator's CloudWatch (the alarm watch published them there, a period at a
// time), and it answers Sum, Average, Minimum, Maximum and SampleCount over
// them; a percentile it answers with no value. Those are taken here from the
// load balancer stand-in's log, each period's requests as the watch took
// them, with the same statistic the alarms are evaluated with
// (alarm-rules.ts): the picture and the alarm see the same p90.
import type { CloudWatchClient, Dimension, MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { getMetricData, type SeriesData, type TimeWindow } from "../../aws/metric-data.ts";
import { StepError } from "../../errors.ts";
import { proxyActivity, runningProxy } from "../elbv2/load-balancer.ts";
import { periodMetrics, samplesOf } from "../elbv2/request-metrics.ts";
import { knownStatistic, statisticOf } from "./alarm-rules.ts";

const PERCENTILE = /^p\d/;

export interface RehearsalMetricData {
  readonly cw: CloudWatchClient;
  readonly prefix: string;
  /** AWS seconds per rehearsal second: a query's Period (on AWS's clock) lasts Period ÷ this here. */
  readonly speedup: number;
}

/** Each query's series over `window` (periods on AWS's clock), as CloudWatch would answer them. */
export async function rehearsalMetricData(
  source: RehearsalMetricData,
  queries: readonly MetricDataQuery[],
  window: TimeWindow,
): Promise<SeriesData[]> {
  const scaled = queries.map((q) => {
    const stat = q.MetricStat?.Stat ?? "";
    if (!q.MetricStat || !knownStatistic(stat))
      throw new StepError(
        `The dashboard's query ${q.Id} asks for ${stat || "no statistic"}, which CloudWatch does not know.`,
        "Check the dashboard's metrics in infra/monitoring.yaml.",
      );
    const period = (q.MetricStat.Period ?? 60) / source.speedup;
    return { ...q, MetricStat: { ...q.MetricStat, Period: period } };
  });
  const plain = scaled.filter((q) => !PERCENTILE.test(q.MetricStat.Stat ?? ""));
  const percentiles = scaled.filter((q) => PERCENTILE.test(q.MetricStat.Stat ?? ""));
  const fromEmulator = await getMetricData(source.cw, plain, window);
  const fromLog = percentiles.length > 0 ? await percentilesFromLog(source.prefix, percentiles, window) : [];
  return scaled.map((q) => [...fromEmulator, ...fromLog].find((s) => s.id === q.Id) as SeriesData);
}

/** Percentile queries answered from the proxy's log: one point a period with requests, at the period's start. */
async function percentilesFromLog(
  prefix: string,
  queries: readonly MetricDataQuery[],
  window: TimeWindow,
): Promise<SeriesData[]> {
  const proxy = await runningProxy(prefix);
  if (!proxy)
    throw new StepError(
      `No load balancer stand-in runs for prefix ${prefix}: its log, which the percentiles are taken from, is gone.`,
      "Run `bin/lesson 07` again.",
    );
  const start = window.start.getTime();
  const seen = await proxyActivity(proxy, start / 1000);
  return queries.map((q) => {
    const stat = q.MetricStat?.Stat ?? "";
    const metric = q.MetricStat?.Metric ?? {};
    const periodMs = (q.MetricStat?.Period ?? 60) * 1000;
    const periods = Math.floor((window.end.getTime() - start) / periodMs);
    const points = [];
    for (let k = 0; k < periods; k++) {
      const from = start + k * periodMs;
      const requests = seen.requests.filter((r) => r.at.getTime() >= from && r.at.getTime() < from + periodMs);
      const data = periodMetrics({
        loadBalancer: dimension(metric.Dimensions, "LoadBalancer") ?? "",
        targetGroup: dimension(metric.Dimensions, "TargetGroup") ?? "",
        timestamp: new Date(from),
        requests,
        healthy: seen.healthy,
        unhealthy: seen.unhealthy,
      }).filter((d) => sameDimensions(d.Dimensions, metric.Dimensions));
      const value = statisticOf(samplesOf(data, metric.MetricName ?? ""), stat);
      if (value !== undefined) points.push({ at: new Date(from), value });
    }
    return { id: q.Id ?? "", label: q.Label ?? q.Id ?? "", points };
  });
}

function dimension(dimensions: readonly Dimension[] | undefined, name: string): string | undefined {
  return dimensions?.find((d) => d.Name === name)?.Value;
}

function sameDimensions(a: readonly Dimension[] = [], b: readonly Dimension[] = []): boolean {
  const key = (ds: readonly Dimension[]) =>
    ds
      .map((d) => `${d.Name}=${d.Value}`)
      .sort()
      .join(",");
  return key(a) === key(b);
}
