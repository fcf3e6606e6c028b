// A CloudWatch dashboard's body (the JSON string AWS::CloudWatch::Dashboard
// holds, GetDashboard answers), read as CloudWatch reads it, so that the
// lesson can draw the same widgets from the metric data: text, metric graphs
// (timeSeries) and alarm status. In a metric's array, "..." repeats the
// previous metric's fields before the ones that follow it and "." repeats the
// field at its place; the object at the end holds how it is drawn (stat,
// label). A widget's own `stat` and `period` apply to its metrics without one.
import type { Dimension, MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { StepError } from "../errors.ts";

/** Where a widget sits on the dashboard's grid: 24 columns wide, rows of any number. */
export interface Placement {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface MetricSeriesSpec {
  /** The query's id, unique in the dashboard (GetMetricData's Id: a lower-case letter first). */
  readonly id: string;
  readonly label: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  readonly stat: string;
  /** Seconds, as the body says (on AWS's clock). */
  readonly period: number;
}

export type Widget = Placement &
  (
    | { readonly type: "text"; readonly markdown: string }
    | {
        readonly type: "metric";
        readonly title: string;
        readonly series: readonly MetricSeriesSpec[];
        /** Horizontal lines drawn across the graph (an alarm's threshold). */
        readonly thresholds: ReadonlyArray<{ readonly label: string; readonly value: number }>;
      }
    | { readonly type: "alarm"; readonly title: string; readonly alarmArns: readonly string[] }
  );

type Json = Record<string, unknown>;

/** The widgets of a dashboard body; a body CloudWatch would refuse is refused here, naming the dashboard. */
export function dashboardWidgets(dashboard: string, body: string): Widget[] {
  const bad = (what: string) =>
    new StepError(
      `The dashboard ${dashboard}'s body ${what}.`,
      "Check the DashboardBody in infra/monitoring.yaml (CloudWatch's dashboard body structure), then run `bin/lesson 07` again.",
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw bad(`is not JSON (${(error as Error).message})`);
  }
  const widgets = (parsed as Json | null)?.widgets;
  if (!Array.isArray(widgets)) throw bad("has no widgets array");
  let queries = 0;
  return widgets.map((w: Json, i): Widget => {
    const props = (w.properties ?? {}) as Json;
    const placement = {
      x: Number(w.x ?? 0),
      y: Number(w.y ?? 0),
      width: Number(w.width ?? 6),
      height: Number(w.height ?? 6),
    };
    switch (w.type) {
      case "text":
        return { type: "text", ...placement, markdown: text(props.markdown, "") };
      case "alarm":
        return {
          type: "alarm",
          ...placement,
          title: text(props.title, "Alarms"),
          alarmArns: (props.alarms as string[] | undefined) ?? [],
        };
      case "metric": {
        if (!Array.isArray(props.metrics)) throw bad(`has a metric widget (#${i + 1}) without metrics`);
        let previous: unknown[] = [];
        const series = (props.metrics as unknown[][]).map((entry, j): MetricSeriesSpec => {
          const last = entry.at(-1);
          const options = (last !== null && typeof last === "object" ? last : {}) as Json;
          const given = entry.filter((e) => e !== options);
          const fields = expand(given, previous);
          previous = fields;
          const [namespace, metricName, ...pairs] = fields.map(String);
          if (!namespace || !metricName || pairs.length % 2 !== 0)
            throw bad(
              `has a metric (#${j + 1} of "${String(props.title)}") that is not [namespace, name, dimension, value…]`,
            );
          const dimensions = [];
          for (let k = 0; k < pairs.length; k += 2) dimensions.push({ Name: pairs[k], Value: pairs[k + 1] });
          const stat = text(options.stat ?? props.stat, "Average");
          return {
            id: `m${queries++}`,
            label: text(options.label, `${metricName} ${stat}`),
            namespace,
            metricName,
            dimensions,
            stat,
            period: Number(options.period ?? props.period ?? 300),
          };
        });
        const horizontal = ((props.annotations as Json | undefined)?.horizontal ?? []) as Json[];
        return {
          type: "metric",
          ...placement,
          title: text(props.title, series.map((s) => s.label).join(", ")),
          series,
          thresholds: horizontal.map((h) => ({ label: text(h.label, ""), value: Number(h.value) })),
        };
      }
      default:
        throw bad(`has a widget (#${i + 1}) of type ${String(w.type)}, which this lesson does not draw`);
    }
  });
}

/** A string or number of the body as text; anything else (absent, an object) as `fallback`. */
function text(value: unknown, fallback: string): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : fallback;
}

/** A metric's fields with "..." and "." taken from the previous metric's. */
function expand(given: readonly unknown[], previous: readonly unknown[]): unknown[] {
  if (given[0] === "...") {
    const rest = given.slice(1);
    return [...previous.slice(0, Math.max(0, previous.length - rest.length)), ...rest];
  }
  return given.map((field, k) => (field === "." ? previous[k] : field));
}

/** The metric widgets' series, as GetMetricData queries (periods as the body says, on AWS's clock). */
export function metricQueries(series: readonly MetricSeriesSpec[]): MetricDataQuery[] {
  return series.map((s) => ({
    Id: s.id,
    Label: s.label,
    MetricStat: {
      Metric: { Namespace: s.namespace, MetricName: s.metricName, Dimensions: [...s.dimensions] },
      Period: s.period,
      Stat: s.stat,
    },
    ReturnData: true,
  }));
}
