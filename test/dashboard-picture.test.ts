// The dashboard as lesson 07 draws it: infra/monitoring.yaml's body read as
// CloudWatch reads it (widgets, "..." metrics, stats, thresholds), and the
// picture drawn from series: every metric widget's series is in the SVG with
// a point per datapoint, each alarm with its state, and the PNG is a PNG.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { dashboardWidgets, metricQueries, type Widget } from "../setup/lib/aws/dashboard-body.ts";
import type { SeriesData } from "../setup/lib/aws/metric-data.ts";
import { templateFile } from "../setup/lib/aws/naming.ts";
import { parseTemplate, renderTemplate } from "../setup/lib/aws/templates.ts";
import { StepError } from "../setup/lib/errors.ts";
import { drawDashboard } from "../setup/lib/ui/dashboard-picture.ts";

const loadBalancer = "app/lab-pic-alb/50dc6c495c0c9188";
const targetGroup = "targetgroup/lab-pic-service-Target-1A2B3C/73e2d6bc24d8a067";
const alarmArn = (name: string) => `arn:aws:cloudwatch:eu-west-1:111122223333:alarm:${name}`;

/** The DashboardBody of infra/monitoring.yaml, rendered for a run with prefix lab-pic. */
function templateBody(): string {
  const template = renderTemplate(parseTemplate(readFileSync(templateFile("monitoring"), "utf8")), {
    accountId: "111122223333",
    region: "eu-west-1",
    stackName: "lab-pic-monitoring",
    parameters: { Prefix: "lab-pic", LoadBalancerFullName: loadBalancer, TargetGroupFullName: targetGroup },
    resources: {
      LatencyAlarm: { Ref: "lab-pic-latency-p90", Arn: alarmArn("lab-pic-latency-p90") },
      ErrorsAlarm: { Ref: "lab-pic-target-5xx", Arn: alarmArn("lab-pic-target-5xx") },
      AlarmTopic: { Ref: "arn:aws:sns:eu-west-1:111122223333:lab-pic-alarms" },
      Inbox: { Ref: "https://sqs.eu-west-1.amazonaws.com/111122223333/lab-pic-alarm-inbox", Arn: "arn:aws:sqs:x" },
      Dashboard: { Ref: "lab-pic-app" },
    },
  });
  return String(template.Resources.Dashboard?.Properties?.DashboardBody);
}

const metricWidgets = (widgets: Widget[]) => widgets.flatMap((w) => (w.type === "metric" ? [w] : []));

describe("the dashboard body", () => {
  it("is read widget by widget, with '...' repeating the previous metric", () => {
    const widgets = dashboardWidgets("lab-pic-app", templateBody());
    expect(widgets.map((w) => w.type)).toEqual(["text", "metric", "metric", "metric", "metric", "alarm"]);
    const [latency, requests, errors, healthy] = metricWidgets(widgets);
    expect(latency?.series.map((s) => [s.label, s.metricName, s.stat, s.period])).toEqual([
      ["p50", "TargetResponseTime", "p50", 60],
      ["p90", "TargetResponseTime", "p90", 60],
    ]);
    expect(latency?.series[1]?.dimensions).toEqual([{ Name: "LoadBalancer", Value: loadBalancer }]);
    expect(latency?.thresholds).toEqual([{ label: "latency alarm", value: 1 }]);
    expect(requests?.series[0]?.stat).toBe("Sum");
    expect(errors?.thresholds).toEqual([{ label: "errors alarm", value: 5 }]);
    expect(healthy?.series[0]?.dimensions).toEqual([
      { Name: "TargetGroup", Value: targetGroup },
      { Name: "LoadBalancer", Value: loadBalancer },
    ]);
    const alarms = widgets.find((w) => w.type === "alarm");
    expect(alarms?.type === "alarm" && alarms.alarmArns).toEqual([
      alarmArn("lab-pic-latency-p90"),
      alarmArn("lab-pic-target-5xx"),
    ]);
    // Ids are unique across the dashboard: one GetMetricData call asks for every series.
    const ids = metricWidgets(widgets).flatMap((w) => w.series.map((s) => s.id));
    expect(new Set(ids).size).toBe(ids.length);
    const queries = metricQueries(metricWidgets(widgets).flatMap((w) => w.series));
    expect(queries[1]).toMatchObject({ Id: "m1", Label: "p90", MetricStat: { Period: 60, Stat: "p90" } });
  });

  it("'.' repeats the field at its place; the widget's stat applies where a metric has none", () => {
    const body = JSON.stringify({
      widgets: [
        {
          type: "metric",
          properties: {
            stat: "Maximum",
            period: 300,
            metrics: [
              ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/a/1"],
              [".", "HTTPCode_Target_5XX_Count", ".", "."],
            ],
          },
        },
      ],
    });
    const [w] = metricWidgets(dashboardWidgets("d", body));
    expect(w?.series[1]).toMatchObject({
      namespace: "AWS/ApplicationELB",
      metricName: "HTTPCode_Target_5XX_Count",
      dimensions: [{ Name: "LoadBalancer", Value: "app/a/1" }],
      stat: "Maximum",
      period: 300,
    });
  });

  it("refuses a body that is not one, naming the dashboard", () => {
    expect(() => dashboardWidgets("lab-pic-app", "{ widgets: ")).toThrow(StepError);
    expect(() => dashboardWidgets("lab-pic-app", "{}")).toThrow(/lab-pic-app's body has no widgets array/);
    expect(() =>
      dashboardWidgets(
        "lab-pic-app",
        JSON.stringify({ widgets: [{ type: "metric", properties: { metrics: [["AWS/X"]] } }] }),
      ),
    ).toThrow(/is not \[namespace, name, dimension, value…\]/);
    expect(() => dashboardWidgets("lab-pic-app", JSON.stringify({ widgets: [{ type: "log" }] }))).toThrow(
      /of type log, which this lesson does not draw/,
    );
  });
});

describe("the picture", () => {
  const widgets = dashboardWidgets("lab-pic-app", templateBody());
  const start = Date.parse("2026-12-08T01:00:00Z");
  /** Ten periods: fast, then slow from the fifth. */
  const series: SeriesData[] = metricWidgets(widgets).flatMap((w) =>
    w.series.map((s) => ({
      id: s.id,
      label: s.label,
      points: Array.from({ length: 10 }, (_, k) => ({
        at: new Date(start + k * 60_000),
        value: s.metricName === "TargetResponseTime" ? (k >= 4 ? 2 : 0.05) : k + 1,
      })),
    })),
  );
  const window = { start: new Date(start), end: new Date(start + 10 * 60_000) };
  const alarms = [
    { arn: alarmArn("lab-pic-latency-p90"), name: "lab-pic-latency-p90", state: "ALARM" },
    { arn: alarmArn("lab-pic-target-5xx"), name: "lab-pic-target-5xx", state: "OK" },
  ];

  it("holds every metric widget's series with a point per datapoint, the thresholds and the alarms' states", async () => {
    const { svg, png } = await drawDashboard({
      dashboard: "lab-pic-app",
      note: "test data",
      widgets,
      series,
      alarms,
      window,
    });
    const marks = (role: string) =>
      [
        ...svg.matchAll(
          /aria-label="time: [^"]*; value: ([^;"]*); series: ([^"]*)" role="graphics-symbol" aria-roledescription="([^"]*)"/g,
        ),
      ]
        .filter((m) => m[3] === role)
        .map((m) => ({ value: m[1], series: m[2] }));
    const points = marks("point");
    for (const w of metricWidgets(widgets)) {
      expect(svg).toContain(`>${w.title}</text>`);
      for (const s of w.series) {
        expect(points.filter((p) => p.series === s.label)).toHaveLength(10);
        expect(marks("line mark").filter((l) => l.series === s.label)).toHaveLength(1);
      }
    }
    expect(points.filter((p) => p.series === "p90").map((p) => p.value)).toContain("2");
    expect(svg).toContain(">latency alarm</text>");
    expect(svg).toContain(">errors alarm</text>");
    for (const a of alarms) expect(svg).toMatch(new RegExp(`>${a.name}</text>[\\s\\S]*>${a.state}</text>`));
    expect(svg).toContain(">lab-pic: the app as its users feel it</text>");
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    // Wide enough for the dashboard's 24 columns.
    expect(png.readUInt32BE(16)).toBeGreaterThan(900);
  });

  it("says so where a widget has no data, rather than drawing an empty frame", async () => {
    const { svg } = await drawDashboard({ dashboard: "lab-pic-app", note: "", widgets, series: [], alarms, window });
    expect(svg.match(/>no data in this window<\/text>/g)).toHaveLength(4);
    expect(svg).not.toMatch(/aria-label="time: /);
  });
});
