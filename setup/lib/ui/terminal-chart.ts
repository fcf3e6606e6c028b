// A series drawn in characters for a terminal (asciichart), with a threshold
// as a second, flat line: enough to see a latency climb past its alarm's line
// while the alarm is evaluated. Only for a person at a terminal: a log gets
// the numbers in words instead.
import asciichart from "asciichart";

export interface TerminalChartInput {
  readonly values: readonly number[];
  readonly threshold?: number;
  /** Rows of the plot. */
  readonly height?: number;
  /** How a value on the axis is written, e.g. seconds with two decimals. */
  readonly unit?: string;
  /** The threshold in red (on a terminal that shows colour). */
  readonly color?: boolean;
}

/** The chart as lines; empty when there are fewer than two values (nothing to draw a line between). */
export function terminalChart(input: TerminalChartInput): string[] {
  if (input.values.length < 2) return [];
  const series = [[...input.values]];
  if (input.threshold !== undefined) series.push(input.values.map(() => input.threshold as number));
  const plot = asciichart.plot(series, {
    height: input.height ?? 6,
    // From zero: a climb is seen against the floor, and the threshold where it is.
    min: 0,
    ...(input.color ? { colors: [asciichart.default, asciichart.red] } : {}),
    format: (x: number) => `${x.toFixed(2).padStart(7)}${input.unit ?? ""} `,
  });
  return plot.split("\n");
}
