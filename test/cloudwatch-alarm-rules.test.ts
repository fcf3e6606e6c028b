// CloudWatch's alarm evaluation (setup/lib/local/cloudwatch/alarm-rules.ts),
// which the rehearsal does because the emulator never evaluates an alarm, and
// the notification it publishes (alarm-message.ts). No Docker, no clock.
import { describe, expect, it } from "vitest";
import { actionsFor } from "../setup/lib/aws/alarm-watch.ts";
import { alarmMessage, alarmSubject } from "../setup/lib/local/cloudwatch/alarm-message.ts";
import {
  type AlarmRule,
  type AlarmState,
  type Datapoint,
  evaluate,
  knownStatistic,
  statisticOf,
} from "../setup/lib/local/cloudwatch/alarm-rules.ts";

/** infra/monitoring.yaml's latency alarm: p90 > 1 s in 2 of 3 one-minute periods, no data = fine. */
const latency: AlarmRule = {
  name: "demo-latency-p90",
  statistic: "p90",
  period: 60,
  evaluationPeriods: 3,
  datapointsToAlarm: 2,
  comparison: "GreaterThanThreshold",
  threshold: 1,
  treatMissingData: "notBreaching",
};

/** Datapoints a minute apart from 10:00, oldest first; null = no samples in that period. */
const points = (...values: Array<number | null>): Datapoint[] =>
  values.map((v, i) => ({
    start: new Date(Date.UTC(2026, 10, 29, 10, i)),
    ...(v === null ? {} : { value: v }),
  }));

/** Walks a series of periods as the monitor does: the state after each. */
function walk(rule: AlarmRule, values: Array<number | null>, from: AlarmState = "INSUFFICIENT_DATA"): AlarmState[] {
  const all = points(...values);
  const states: AlarmState[] = [];
  let state = from;
  for (let i = 1; i <= all.length; i++) {
    state = evaluate(rule, all.slice(0, i), state).state;
    states.push(state);
  }
  return states;
}

describe("a period's statistic", () => {
  it("computes the five plain statistics and a nearest-rank percentile from the raw samples", () => {
    const samples = [0.2, 0.1, 2.5, 0.3, 0.1, 0.2, 0.4, 0.1, 3.0, 0.2];
    expect(statisticOf(samples, "Sum")).toBeCloseTo(7.1);
    expect(statisticOf(samples, "Average")).toBeCloseTo(0.71);
    expect(statisticOf(samples, "Minimum")).toBe(0.1);
    expect(statisticOf(samples, "Maximum")).toBe(3.0);
    expect(statisticOf(samples, "SampleCount")).toBe(10);
    // Two slow requests in ten: the median stays fast, the 90th percentile sees them.
    expect(statisticOf(samples, "p50")).toBe(0.2);
    expect(statisticOf(samples, "p90")).toBe(2.5);
    expect(statisticOf(samples, "p99")).toBe(3.0);
    expect(statisticOf([], "p90")).toBeUndefined();
  });

  it("knows which statistics CloudWatch has, and refuses others", () => {
    expect(["Sum", "p90", "p99.9", "SampleCount"].every(knownStatistic)).toBe(true);
    expect(knownStatistic("Median")).toBe(false);
    expect(() => statisticOf([1], "Median")).toThrow(/Median is not a CloudWatch statistic/);
  });
});

describe("alarm evaluation, M of N", () => {
  it("goes to ALARM on the second slow period of three, and not on one alone", () => {
    expect(walk(latency, [0.2, 2.0, 0.3])).toEqual(["OK", "OK", "OK"]);
    expect(walk(latency, [0.2, 2.0, 3.0])).toEqual(["OK", "OK", "ALARM"]);
    expect(walk(latency, [2.0, 0.2, 3.0])).toEqual(["OK", "OK", "ALARM"]);
  });

  it("returns to OK once fewer than 2 of the last 3 breach, and when the traffic stops (notBreaching)", () => {
    expect(walk(latency, [2, 2, 2, 0.2, 0.2])).toEqual(["OK", "ALARM", "ALARM", "ALARM", "OK"]);
    expect(walk(latency, [2, 2, null, null])).toEqual(["OK", "ALARM", "ALARM", "OK"]);
  });

  it("treats missing data as each TreatMissingData value says", () => {
    const none = [null, null, null];
    expect(walk({ ...latency, treatMissingData: "notBreaching" }, none).at(-1)).toBe("OK");
    expect(walk({ ...latency, treatMissingData: "breaching" }, none).at(-1)).toBe("ALARM");
    expect(walk({ ...latency, treatMissingData: "missing" }, none).at(-1)).toBe("INSUFFICIENT_DATA");
    expect(walk({ ...latency, treatMissingData: "ignore" }, none, "ALARM").at(-1)).toBe("ALARM");
    expect(walk({ ...latency, treatMissingData: "breaching" }, [0.1, null, null]).at(-1)).toBe("ALARM");
    expect(walk({ ...latency, treatMissingData: "missing" }, [3, null, null]).at(-1)).toBe("OK");
  });

  it("compares as the alarm's operator says", () => {
    const at = (comparison: AlarmRule["comparison"], v: number) =>
      evaluate({ ...latency, comparison, datapointsToAlarm: 1, evaluationPeriods: 1 }, points(v), "OK").state;
    expect([at("GreaterThanThreshold", 1), at("GreaterThanOrEqualToThreshold", 1)]).toEqual(["OK", "ALARM"]);
    expect([at("LessThanThreshold", 1), at("LessThanOrEqualToThreshold", 1)]).toEqual(["OK", "ALARM"]);
  });

  it("gives CloudWatch's kind of reason, newest datapoint first", () => {
    expect(evaluate(latency, points(0.2, 2.5, 3), "OK").reason).toBe(
      "Threshold Crossed: 2 out of the last 3 datapoints [3 (29/11/26 10:02:00), 2.5 (29/11/26 10:01:00)] were greater than the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition).",
    );
    expect(evaluate(latency, points(3, null, 0.2), "ALARM").reason).toBe(
      "Threshold Crossed: 1 datapoint [0.2 (29/11/26 10:02:00)] was not greater than the threshold (1.0) and 1 missing datapoint was treated as [NonBreaching] (minimum 1 datapoint for ALARM -> OK transition).",
    );
  });
});

describe("the notification", () => {
  const alarm = {
    AlarmName: "demo-latency-p90",
    AlarmArn: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:demo-latency-p90",
    AlarmDescription: "The slowest tenth of demo's responses take more than 1 s.",
    Namespace: "AWS/ApplicationELB",
    MetricName: "TargetResponseTime",
    Dimensions: [{ Name: "LoadBalancer", Value: "app/demo-alb/50dc6c495c0c9188" }],
    ExtendedStatistic: "p90",
    Unit: "Seconds" as const,
    Period: 60,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    ComparisonOperator: "GreaterThanThreshold" as const,
    Threshold: 1,
    TreatMissingData: "notBreaching",
    AlarmActions: ["arn:aws:sns:eu-west-1:123456789012:demo-alarms"],
    OKActions: ["arn:aws:sns:eu-west-1:123456789012:demo-alarms"],
    AlarmConfigurationUpdatedTimestamp: new Date("2026-11-29T09:58:00Z"),
  };
  const change = {
    alarm,
    accountId: "123456789012",
    region: "eu-west-1",
    from: "OK" as const,
    to: "ALARM" as const,
    reason: "Threshold Crossed: …",
    at: new Date("2026-11-29T10:03:00Z"),
  };

  it("has AWS's subject and JSON shape, percentile alarms included", () => {
    expect(alarmSubject(change)).toBe('ALARM: "demo-latency-p90" in EU (Ireland)');
    expect(JSON.parse(alarmMessage(change))).toEqual({
      AlarmName: "demo-latency-p90",
      AlarmDescription: "The slowest tenth of demo's responses take more than 1 s.",
      AWSAccountId: "123456789012",
      AlarmConfigurationUpdatedTimestamp: "2026-11-29T09:58:00.000+0000",
      NewStateValue: "ALARM",
      NewStateReason: "Threshold Crossed: …",
      StateChangeTime: "2026-11-29T10:03:00.000+0000",
      Region: "EU (Ireland)",
      AlarmArn: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:demo-latency-p90",
      OldStateValue: "OK",
      OKActions: ["arn:aws:sns:eu-west-1:123456789012:demo-alarms"],
      AlarmActions: ["arn:aws:sns:eu-west-1:123456789012:demo-alarms"],
      InsufficientDataActions: [],
      Trigger: {
        MetricName: "TargetResponseTime",
        Namespace: "AWS/ApplicationELB",
        StatisticType: "ExtendedStatistic",
        ExtendedStatistic: "p90",
        Unit: "Seconds",
        Dimensions: [{ value: "app/demo-alb/50dc6c495c0c9188", name: "LoadBalancer" }],
        Period: 60,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 1,
        TreatMissingData: "notBreaching",
        EvaluateLowSampleCountPercentile: "",
      },
    });
    const sum = JSON.parse(
      alarmMessage({ ...change, alarm: { ...alarm, ExtendedStatistic: undefined, Statistic: "Sum" } }),
    ) as { Trigger: Record<string, unknown> };
    expect(sum.Trigger).toMatchObject({ StatisticType: "Statistic", Statistic: "SUM" });
    expect(sum.Trigger).not.toHaveProperty("ExtendedStatistic");
  });

  it("goes to the actions of the new state, and to none when actions are disabled", () => {
    expect(actionsFor(alarm, "ALARM")).toEqual(alarm.AlarmActions);
    expect(actionsFor(alarm, "INSUFFICIENT_DATA")).toEqual([]);
    expect(actionsFor({ ...alarm, ActionsEnabled: false }, "OK")).toEqual([]);
  });
});
