// What CloudWatch publishes to an alarm's SNS actions when its state changes:
// the subject line and the JSON message, in the shape AWS sends (field names,
// the Trigger block, the region's long name), so what the lesson reads from
// its inbox in the rehearsal reads like what arrives from AWS.
import type { MetricAlarm } from "@aws-sdk/client-cloudwatch";
import type { AlarmState } from "./alarm-rules.ts";

/** The names CloudWatch's notifications give regions; other regions are named by their code. */
const REGION_NAMES: Readonly<Record<string, string>> = {
  "us-east-1": "US East (N. Virginia)",
  "us-east-2": "US East (Ohio)",
  "us-west-2": "US West (Oregon)",
  "eu-west-1": "EU (Ireland)",
  "eu-west-2": "EU (London)",
  "eu-west-3": "EU (Paris)",
  "eu-central-1": "EU (Frankfurt)",
  "eu-north-1": "EU (Stockholm)",
  "ap-southeast-1": "Asia Pacific (Singapore)",
  "ap-southeast-2": "Asia Pacific (Sydney)",
  "ap-northeast-1": "Asia Pacific (Tokyo)",
};

export interface StateChange {
  readonly alarm: MetricAlarm;
  readonly accountId: string;
  readonly region: string;
  readonly from: AlarmState;
  readonly to: AlarmState;
  readonly reason: string;
  readonly at: Date;
}

/** "2026-11-29T10:05:00.000+0000", CloudWatch's way of writing a time in a notification. */
const stamp = (date: Date) => date.toISOString().replace("Z", "+0000");

/** The SNS subject, e.g. `ALARM: "demo-latency-p90" in EU (Ireland)`. */
export function alarmSubject(change: Pick<StateChange, "alarm" | "region" | "to">): string {
  return `${change.to}: "${change.alarm.AlarmName}" in ${REGION_NAMES[change.region] ?? change.region}`;
}

/** The SNS message body CloudWatch publishes for a state change. */
export function alarmMessage(change: StateChange): string {
  const a = change.alarm;
  const percentile = a.ExtendedStatistic !== undefined;
  return JSON.stringify({
    AlarmName: a.AlarmName,
    AlarmDescription: a.AlarmDescription ?? null,
    AWSAccountId: change.accountId,
    AlarmConfigurationUpdatedTimestamp: stamp(a.AlarmConfigurationUpdatedTimestamp ?? change.at),
    NewStateValue: change.to,
    NewStateReason: change.reason,
    StateChangeTime: stamp(change.at),
    Region: REGION_NAMES[change.region] ?? change.region,
    AlarmArn: a.AlarmArn,
    OldStateValue: change.from,
    OKActions: a.OKActions ?? [],
    AlarmActions: a.AlarmActions ?? [],
    InsufficientDataActions: a.InsufficientDataActions ?? [],
    Trigger: {
      MetricName: a.MetricName,
      Namespace: a.Namespace,
      StatisticType: percentile ? "ExtendedStatistic" : "Statistic",
      ...(percentile ? { ExtendedStatistic: a.ExtendedStatistic } : { Statistic: (a.Statistic ?? "").toUpperCase() }),
      Unit: a.Unit ?? null,
      Dimensions: (a.Dimensions ?? []).map((d) => ({ value: d.Value, name: d.Name })),
      Period: a.Period,
      EvaluationPeriods: a.EvaluationPeriods,
      DatapointsToAlarm: a.DatapointsToAlarm,
      ComparisonOperator: a.ComparisonOperator,
      Threshold: a.Threshold,
      TreatMissingData: a.TreatMissingData ?? "missing",
      EvaluateLowSampleCountPercentile: a.EvaluateLowSampleCountPercentile ?? "",
    },
  });
}
