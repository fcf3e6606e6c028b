// Lesson 07's dashboard, to look at on either target: read as CloudWatch
// holds it (GetDashboard), its metric widgets' data over the lesson's window
// (the target's GetMetricData), and its alarms' states (DescribeAlarms);
// drawn as an SVG and a PNG into the pictures folder, and the latency as a
// chart in characters on a terminal.
import { DescribeAlarmsCommand, GetDashboardCommand } from "@aws-sdk/client-cloudwatch";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TargetContext } from "../targets/target.ts";
import type { Target } from "../targets/target.ts";
import { dashboardWidgets, metricQueries, type MetricSeriesSpec, type Widget } from "./aws/dashboard-body.ts";
import type { SeriesData, TimeWindow } from "./aws/metric-data.ts";
import { StepError } from "./errors.ts";
import { type AlarmStatus, drawDashboard } from "./ui/dashboard-picture.ts";

type Ctx = Omit<TargetContext, "ui" | "signal"> & { readonly target: Target };

/** The dashboard's widgets, as CloudWatch holds its body. */
export async function readDashboard(ctx: Ctx, name: string): Promise<Widget[]> {
  const { DashboardBody } = await ctx.aws.cw.send(new GetDashboardCommand({ DashboardName: name }));
  if (!DashboardBody)
    throw new StepError(`The dashboard ${name} has no body.`, "Run `bin/lesson 07` again: it deploys the dashboard.");
  return dashboardWidgets(name, DashboardBody);
}

/** Every metric series of the widgets, by query id, over `window`. */
export async function dashboardSeries(ctx: Ctx, widgets: readonly Widget[], window: TimeWindow): Promise<SeriesData[]> {
  const specs = widgets.flatMap((w) => (w.type === "metric" ? w.series : []));
  return ctx.target.metricData(ctx, metricQueries(specs), window);
}

/** The metric series the lesson follows on a terminal: the one with this metric and statistic. */
export function seriesSpec(widgets: readonly Widget[], metricName: string, stat: string): MetricSeriesSpec | undefined {
  return widgets
    .flatMap((w) => (w.type === "metric" ? w.series : []))
    .find((s) => s.metricName === metricName && s.stat === stat);
}

export interface DrawnDashboard {
  readonly svg: string;
  readonly png: string;
  /** Datapoints drawn, per series label. */
  readonly points: Readonly<Record<string, number>>;
}

/** Draws the dashboard from its data over `window` into `dir` (<name>.svg and <name>.png). */
export async function writeDashboardPicture(
  ctx: Ctx,
  name: string,
  window: TimeWindow,
  dir: string,
): Promise<DrawnDashboard> {
  const widgets = await readDashboard(ctx, name);
  const series = await dashboardSeries(ctx, widgets, window);
  const arns = widgets.flatMap((w) => (w.type === "alarm" ? w.alarmArns : []));
  const alarmNames = arns.map((arn) => arn.slice(arn.indexOf(":alarm:") + ":alarm:".length));
  const { MetricAlarms } =
    alarmNames.length > 0
      ? await ctx.aws.cw.send(new DescribeAlarmsCommand({ AlarmNames: alarmNames }))
      : { MetricAlarms: [] };
  const alarms: AlarmStatus[] = (MetricAlarms ?? []).map((a) => ({
    arn: a.AlarmArn ?? "",
    name: a.AlarmName ?? "",
    state: a.StateValue ?? "INSUFFICIENT_DATA",
  }));
  const picture = await drawDashboard({
    dashboard: name,
    note: ctx.target.metricDataNote,
    widgets,
    series,
    alarms,
    window,
  });
  await mkdir(dir, { recursive: true });
  const svg = join(dir, `${name}.svg`);
  const png = join(dir, `${name}.png`);
  await writeFile(svg, picture.svg);
  await writeFile(png, picture.png);
  return { svg, png, points: Object.fromEntries(series.map((s) => [s.label, s.points.length])) };
}
