// A CloudWatch dashboard drawn as a picture, from its body's widgets and the
// metric data itself: Vega-Lite describes each widget (a metric graph's lines,
// one per series with a point a datapoint, and its threshold lines; an alarm
// widget's states; a text widget's words), Vega renders the SVG in Node, and
// resvg turns it into a PNG with the DejaVu Sans font the package ships, so
// the picture looks the same on every machine. The widgets keep the
// dashboard's grid: rows by y, left to right by x, widths in 24ths.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { Widget } from "../aws/dashboard-body.ts";
import type { SeriesData, TimeWindow } from "../aws/metric-data.ts";

export interface AlarmStatus {
  readonly arn: string;
  readonly name: string;
  readonly state: string;
}

export interface DashboardPictureInput {
  readonly dashboard: string;
  /** Under the title: where the data comes from and on what clock. */
  readonly note: string;
  readonly widgets: readonly Widget[];
  readonly series: readonly SeriesData[];
  readonly alarms: readonly AlarmStatus[];
  /** What every graph spans, so that their times line up. */
  readonly window: TimeWindow;
}

export interface DashboardPicture {
  readonly svg: string;
  readonly png: Buffer;
}

const COLUMN_PX = 44;
const ROW_PX = 34;
const FONT = "DejaVu Sans";
const STATE_COLORS = { OK: "#2ca02c", ALARM: "#d62728", INSUFFICIENT_DATA: "#8c8c8c" };

/** The SVG and PNG of the dashboard. */
export async function drawDashboard(input: DashboardPictureInput): Promise<DashboardPicture> {
  const rows = [...new Set(input.widgets.map((w) => w.y))].sort((a, b) => a - b);
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `CloudWatch dashboard ${input.dashboard}`,
      subtitle: `${input.note}; times in UTC`,
      anchor: "start",
      fontSize: 16,
    },
    background: "white",
    config: { font: FONT, view: { stroke: "#ddd" } },
    vconcat: rows.map((y) => ({
      hconcat: input.widgets
        .filter((w) => w.y === y)
        .sort((a, b) => a.x - b.x)
        .map((w) => widgetView(w, input)),
      resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
    })),
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    background: "white",
    font: { loadSystemFonts: false, fontFiles: [...FONT_FILES], defaultFontFamily: FONT },
  })
    .render()
    .asPng();
  return { svg, png };
}

const fonts = join(dirname(createRequire(import.meta.url).resolve("dejavu-fonts-ttf/package.json")), "ttf");
const FONT_FILES = [join(fonts, "DejaVuSans.ttf"), join(fonts, "DejaVuSans-Bold.ttf")];

function widgetView(w: Widget, input: DashboardPictureInput): object {
  const width = w.width * COLUMN_PX - 70;
  const height = w.height * ROW_PX - 50;
  switch (w.type) {
    case "text":
      return textView(w.markdown, w.width * COLUMN_PX - 20, w.height * ROW_PX - 20);
    case "alarm":
      return alarmView(
        w.title,
        w.alarmArns.map(
          (arn) => input.alarms.find((a) => a.arn === arn) ?? { arn, name: arn.split(":").at(-1) ?? arn, state: "?" },
        ),
        width,
        height,
      );
    case "metric":
      return metricView(w, input, width, height);
  }
}

/** A text widget: its markdown's lines, a heading's marks taken off and drawn bold. */
function textView(markdown: string, width: number, height: number): object {
  const lines = markdown.split("\n").map((line, i) => {
    const heading = /^#+\s*/.exec(line);
    return { y: i * 22, text: heading ? line.slice(heading[0].length) : line, heading: Boolean(heading) };
  });
  const encoding = { x: { value: 0 }, y: { field: "y", type: "quantitative", scale: null }, text: { field: "text" } };
  return {
    width,
    height,
    view: { stroke: null },
    data: { values: lines },
    layer: [
      {
        transform: [{ filter: "datum.heading" }],
        mark: { type: "text", align: "left", baseline: "top", fontSize: 15, fontWeight: "bold" },
        encoding,
      },
      {
        transform: [{ filter: "!datum.heading" }],
        mark: { type: "text", align: "left", baseline: "top", fontSize: 13 },
        encoding,
      },
    ],
  };
}

/** An alarm widget: a box an alarm, coloured by its state. */
function alarmView(title: string, alarms: readonly AlarmStatus[], width: number, height: number): object {
  const box = width / Math.max(1, alarms.length);
  const values = alarms.map((a, i) => ({ ...a, x0: i * box + 4, x1: (i + 1) * box - 4, cx: i * box + 12 }));
  const color = { field: "state", type: "nominal", scale: stateScale(), legend: null };
  return {
    title,
    width,
    height,
    view: { stroke: null },
    data: { values },
    layer: [
      {
        mark: { type: "rect", opacity: 0.15 },
        encoding: {
          x: { field: "x0", type: "quantitative", scale: null },
          x2: { field: "x1" },
          y: { value: 0 },
          y2: { value: height },
          color,
        },
      },
      {
        mark: { type: "text", align: "left", baseline: "middle", fontSize: 13, fontWeight: "bold" },
        encoding: {
          x: { field: "cx", type: "quantitative", scale: null },
          y: { value: height / 3 },
          text: { field: "name" },
        },
      },
      {
        mark: { type: "text", align: "left", baseline: "middle", fontSize: 13 },
        encoding: {
          x: { field: "cx", type: "quantitative", scale: null },
          y: { value: (2 * height) / 3 },
          text: { field: "state" },
          color,
        },
      },
    ],
  };
}

function stateScale(): object {
  return { domain: Object.keys(STATE_COLORS), range: Object.values(STATE_COLORS) };
}

/** A metric graph: a line with points per series, the time along, and its threshold lines dashed. */
function metricView(
  w: Extract<Widget, { type: "metric" }>,
  input: DashboardPictureInput,
  width: number,
  height: number,
) {
  const values = w.series.flatMap((spec) =>
    (input.series.find((s) => s.id === spec.id)?.points ?? []).map((p) => ({
      time: p.at.toISOString(),
      value: p.value,
      series: spec.label,
    })),
  );
  const layers: object[] = [
    {
      data: { values },
      mark: { type: "line", point: true, interpolate: "linear" },
      encoding: {
        x: {
          field: "time",
          type: "temporal",
          title: null,
          scale: { type: "utc", domain: [input.window.start.toISOString(), input.window.end.toISOString()] },
          axis: { format: "%H:%M:%S", labelOverlap: true },
        },
        y: { field: "value", type: "quantitative", title: null },
        color: { field: "series", type: "nominal", title: null, scale: { domain: w.series.map((s) => s.label) } },
      },
    },
  ];
  if (w.thresholds.length > 0)
    layers.push({
      data: { values: w.thresholds },
      layer: [
        {
          mark: { type: "rule", strokeDash: [4, 4], color: "#d62728" },
          encoding: { y: { field: "value", type: "quantitative" } },
        },
        {
          mark: { type: "text", align: "left", dx: 4, dy: -7, color: "#d62728", fontSize: 11 },
          encoding: { x: { value: 0 }, y: { field: "value", type: "quantitative" }, text: { field: "label" } },
        },
      ],
    });
  if (values.length === 0)
    layers.push({
      data: { values: [{ text: "no data in this window" }] },
      mark: { type: "text", color: "#8c8c8c", fontSize: 13 },
      encoding: { x: { value: width / 2 }, y: { value: height / 2 }, text: { field: "text" } },
    });
  return { title: w.title, width, height, layer: layers };
}
