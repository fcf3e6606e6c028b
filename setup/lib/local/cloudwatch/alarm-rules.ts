// CloudWatch's metric alarm, evaluated as CloudWatch evaluates it, because the
// emulator stores alarms but never evaluates them. No I/O here: the
// rehearsal's monitor (monitor.ts) feeds it one datapoint per period.
//   - a period's datapoint is the alarm's statistic over the samples in it:
//     Sum, Average, Minimum, Maximum, SampleCount, or a percentile pNN (read
//     from the raw samples; the emulator cannot compute percentiles);
//   - the last EvaluationPeriods datapoints are the evaluation range; the
//     alarm is in ALARM when DatapointsToAlarm of them breach the threshold;
//   - a period without samples is missing data, treated as TreatMissingData
//     says: notBreaching (a good point), breaching (a bad one), ignore (the
//     state stays), missing (not counted; all missing → INSUFFICIENT_DATA).
// One simplification, said where it matters: with `missing`, CloudWatch may
// look back past the range for more datapoints; here it does not.

export type AlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA";

export type Comparison =
  "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" | "LessThanThreshold" | "LessThanOrEqualToThreshold";

export interface AlarmRule {
  readonly name: string;
  /** "Sum", "Average", …, or a percentile such as "p90". */
  readonly statistic: string;
  readonly period: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly treatMissingData: "missing" | "notBreaching" | "breaching" | "ignore";
}

/** One period's datapoint; `value` undefined when the period had no samples. */
export interface Datapoint {
  readonly start: Date;
  readonly value?: number;
}

export interface Evaluation {
  readonly state: AlarmState;
  /** CloudWatch's kind of sentence: "Threshold Crossed: 2 out of the last 3 datapoints […] were greater than …". */
  readonly reason: string;
}

const PERCENTILE = /^p(\d{1,2}(?:\.\d+)?)$/;

/** Whether CloudWatch knows the statistic: the five plain ones, or a percentile p0–p100. */
export function knownStatistic(statistic: string): boolean {
  return ["Sum", "Average", "Minimum", "Maximum", "SampleCount"].includes(statistic) || PERCENTILE.test(statistic);
}

/** The statistic over one period's samples; undefined when there are none. */
export function statisticOf(samples: readonly number[], statistic: string): number | undefined {
  if (samples.length === 0) return undefined;
  switch (statistic) {
    case "Sum":
      return samples.reduce((a, b) => a + b, 0);
    case "Average":
      return samples.reduce((a, b) => a + b, 0) / samples.length;
    case "Minimum":
      return Math.min(...samples);
    case "Maximum":
      return Math.max(...samples);
    case "SampleCount":
      return samples.length;
  }
  const p = PERCENTILE.exec(statistic);
  if (!p)
    throw new Error(`${statistic} is not a CloudWatch statistic (Sum, Average, Minimum, Maximum, SampleCount, pNN)`);
  // Nearest rank: the smallest sample with at least p% of the samples at or below it.
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((Number(p[1]) / 100) * sorted.length));
  return sorted[rank - 1];
}

const WORDS: Record<Comparison, string> = {
  GreaterThanThreshold: "greater than",
  GreaterThanOrEqualToThreshold: "greater than or equal to",
  LessThanThreshold: "less than",
  LessThanOrEqualToThreshold: "less than or equal to",
};

export function breaches(rule: Pick<AlarmRule, "comparison" | "threshold">, value: number): boolean {
  switch (rule.comparison) {
    case "GreaterThanThreshold":
      return value > rule.threshold;
    case "GreaterThanOrEqualToThreshold":
      return value >= rule.threshold;
    case "LessThanThreshold":
      return value < rule.threshold;
    case "LessThanOrEqualToThreshold":
      return value <= rule.threshold;
  }
}

/** "29/11/26 10:05:00", the way CloudWatch writes a datapoint's time in a reason. */
function when(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getUTCDate())}/${two(date.getUTCMonth() + 1)}/${two(date.getUTCFullYear() % 100)} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * The alarm's state after a period, from the evaluation range (the last
 * `evaluationPeriods` datapoints, oldest first) and its state before.
 */
export function evaluate(rule: AlarmRule, range: readonly Datapoint[], current: AlarmState): Evaluation {
  const points = range.slice(-rule.evaluationPeriods);
  const present = points.filter((p): p is Datapoint & { value: number } => p.value !== undefined);
  const missing = points.length - present.length + Math.max(0, rule.evaluationPeriods - points.length);
  const bad = present.filter((p) => breaches(rule, p.value));
  const badMissing = rule.treatMissingData === "breaching" ? missing : 0;
  const threshold = `the threshold (${rule.threshold.toFixed(1)})`;
  const newestFirst = [...present].reverse();
  const listed = (ps: readonly (Datapoint & { value: number })[]) =>
    `[${ps.map((p) => `${Number(p.value.toFixed(6))} (${when(p.start)})`).join(", ")}]`;

  if (present.length === 0 && (rule.treatMissingData === "missing" || rule.treatMissingData === "ignore")) {
    if (rule.treatMissingData === "ignore")
      return {
        state: current,
        reason: `no datapoints were received for ${plural(missing, "period", "periods")}; the state is kept (missing data ignored).`,
      };
    return {
      state: "INSUFFICIENT_DATA",
      reason: `Insufficient Data: ${plural(missing, "datapoint was", "datapoints were")} unknown.`,
    };
  }
  const treated =
    missing > 0 && (rule.treatMissingData === "breaching" || rule.treatMissingData === "notBreaching")
      ? ` and ${plural(missing, "missing datapoint was", "missing datapoints were")} treated as [${rule.treatMissingData === "breaching" ? "Breaching" : "NonBreaching"}]`
      : "";
  if (bad.length + badMissing >= rule.datapointsToAlarm) {
    const shown = newestFirst.filter((p) => breaches(rule, p.value));
    return {
      state: "ALARM",
      reason: `Threshold Crossed: ${bad.length + badMissing} out of the last ${rule.evaluationPeriods} datapoints ${shown.length > 0 ? `${listed(shown)} ` : ""}${bad.length + badMissing === 1 ? "was" : "were"} ${WORDS[rule.comparison]} ${threshold}${treated} (minimum ${plural(rule.datapointsToAlarm, "datapoint", "datapoints")} for OK -> ALARM transition).`,
    };
  }
  const good = newestFirst.filter((p) => !breaches(rule, p.value));
  const few = newestFirst.filter((p) => breaches(rule, p.value));
  return {
    state: "OK",
    reason:
      present.length === 0
        ? `Threshold Crossed: no datapoints were received for ${plural(missing, "period", "periods")} and ${plural(missing, "missing datapoint was", "missing datapoints were")} treated as [NonBreaching].`
        : good.length === 0
          ? `Threshold Crossed: only ${few.length} out of the last ${rule.evaluationPeriods} datapoints ${listed(few)} ${few.length === 1 ? "was" : "were"} ${WORDS[rule.comparison]} ${threshold}${treated}, fewer than the ${rule.datapointsToAlarm} needed for ALARM.`
          : `Threshold Crossed: ${plural(good.length, "datapoint", "datapoints")} ${listed(good)} ${good.length === 1 ? "was" : "were"} not ${WORDS[rule.comparison]} ${threshold}${treated} (minimum 1 datapoint for ALARM -> OK transition).`,
  };
}
