// Metric data over a window, as a dashboard's graphs draw it: GetMetricData,
// one series a query, every page read, oldest point first. A period without
// data has no point (CloudWatch draws a gap), and neither has a value the
// service could not compute.
import { type CloudWatchClient, type MetricDataQuery, paginateGetMetricData } from "@aws-sdk/client-cloudwatch";

export interface MetricPoint {
  readonly at: Date;
  readonly value: number;
}

export interface SeriesData {
  /** The query's Id. */
  readonly id: string;
  readonly label: string;
  readonly points: readonly MetricPoint[];
}

export interface TimeWindow {
  readonly start: Date;
  readonly end: Date;
}

/** Each query's series over `window`, in the queries' order. */
export async function getMetricData(
  cw: CloudWatchClient,
  queries: readonly MetricDataQuery[],
  window: TimeWindow,
): Promise<SeriesData[]> {
  const points = new Map<string, MetricPoint[]>(queries.map((q) => [q.Id ?? "", []]));
  if (queries.length === 0) return [];
  // GetMetricData takes at most 500 queries a call; a dashboard has far fewer.
  const pages = paginateGetMetricData(
    { client: cw },
    {
      MetricDataQueries: [...queries],
      StartTime: window.start,
      EndTime: window.end,
      ScanBy: "TimestampAscending",
    },
  );
  for await (const page of pages)
    for (const result of page.MetricDataResults ?? []) {
      const into = points.get(result.Id ?? "");
      if (!into) continue;
      (result.Timestamps ?? []).forEach((at, i) => {
        const value = result.Values?.[i];
        if (typeof value === "number" && Number.isFinite(value)) into.push({ at, value });
      });
    }
  return queries.map((q) => ({
    id: q.Id ?? "",
    label: q.Label ?? q.Id ?? "",
    points: (points.get(q.Id ?? "") ?? []).sort((a, b) => a.at.getTime() - b.at.getTime()),
  }));
}
