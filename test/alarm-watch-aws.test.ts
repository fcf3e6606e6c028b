// Lesson 07 on AWS: CloudWatch evaluates the alarms itself; the lesson follows
// their states (setup/lib/aws/alarm-watch.ts) and reports each change once,
// with CloudWatch's reason and the topics it notified. Mocked with the shapes
// DescribeAlarms answers with.
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricAlarm,
} from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type AlarmChange, everyUntilStopped, pollAlarms } from "../setup/lib/aws/alarm-watch.ts";
import { getMetricData } from "../setup/lib/aws/metric-data.ts";

const cw = mockClient(CloudWatchClient);
afterEach(() => cw.reset());

const topic = "arn:aws:sns:eu-west-1:123456789012:demo-alarms";
const alarm = (StateValue: MetricAlarm["StateValue"], StateReason: string): MetricAlarm => ({
  AlarmName: "demo-latency-p90",
  StateValue,
  StateReason,
  AlarmActions: [topic],
  OKActions: [topic],
});

describe("following alarms on AWS", () => {
  it("reports each change of state once, from the state it found, and stops cleanly", async () => {
    const answers = [
      alarm("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation"),
      alarm("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation"),
      alarm(
        "OK",
        "Threshold Crossed: 1 datapoint [0.004 (29/11/26 10:01:00)] was not greater than the threshold (1.0).",
      ),
      alarm("OK", "same"),
      alarm(
        "ALARM",
        "Threshold Crossed: 2 out of the last 3 datapoints [2.0 (29/11/26 10:04:00), 2.1 (29/11/26 10:03:00)] were greater than the threshold (1.0).",
      ),
    ];
    let call = 0;
    cw.on(DescribeAlarmsCommand).callsFake(() => ({ MetricAlarms: [answers[Math.min(call++, answers.length - 1)]] }));
    const seen: AlarmChange[] = [];
    const watch = await pollAlarms(new CloudWatchClient({ region: "eu-west-1" }), ["demo-latency-p90"], {
      intervalMs: 5,
      onChange: (c) => seen.push(c),
    });
    while (call < answers.length + 2) await new Promise((r) => setTimeout(r, 5));
    await watch.stop();
    expect(seen.map((c) => `${c.from}→${c.to}`)).toEqual(["INSUFFICIENT_DATA→OK", "OK→ALARM"]);
    expect(seen[1]).toMatchObject({ alarm: "demo-latency-p90", notified: [topic] });
    expect(seen[1]?.reason).toMatch(/^Threshold Crossed: 2 out of the last 3 datapoints/);
    expect(watch.changes).toEqual(seen);
  });

  it("stops on an error and gives it back (no silent end)", async () => {
    let call = 0;
    cw.on(DescribeAlarmsCommand).callsFake(() => {
      if (call++ === 0) return { MetricAlarms: [alarm("OK", "x")] };
      throw Object.assign(new Error("User is not authorized to perform: cloudwatch:DescribeAlarms"), {
        name: "AccessDenied",
      });
    });
    const watch = await pollAlarms(new CloudWatchClient({ region: "eu-west-1" }), ["demo-latency-p90"], {
      intervalMs: 5,
    });
    while (call < 2) await new Promise((r) => setTimeout(r, 5));
    await expect(watch.stop()).rejects.toThrow(/not authorized to perform: cloudwatch:DescribeAlarms/);
  });
});

describe("the dashboard's metric data on AWS", () => {
  const query = (Id: string, Stat: string) => ({
    Id,
    Label: Id,
    MetricStat: {
      Metric: { Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime" },
      Period: 60,
      Stat,
    },
  });
  const at = (minute: number) => new Date(Date.UTC(2026, 11, 8, 1, minute));

  it("reads every page of GetMetricData, each series oldest first, without the values CloudWatch had none of", async () => {
    cw.on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          { Id: "p90", Timestamps: [at(2), at(0)], Values: [2.1, 0.01] },
          { Id: "requests", Timestamps: [at(0)], Values: [40] },
        ],
        NextToken: "page-2",
      })
      .resolvesOnce({ MetricDataResults: [{ Id: "p90", Timestamps: [at(1), at(3)], Values: [1.5, Number.NaN] }] });
    const window = { start: at(0), end: at(5) };
    const series = await getMetricData(
      new CloudWatchClient({ region: "eu-west-1" }),
      [query("p90", "p90"), query("requests", "Sum")],
      window,
    );
    expect(series.map((s) => [s.label, s.points.map((p) => [p.at.getUTCMinutes(), p.value])])).toEqual([
      [
        "p90",
        [
          [0, 0.01],
          [1, 1.5],
          [2, 2.1],
        ],
      ],
      ["requests", [[0, 40]]],
    ]);
    const calls = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    // Two calls, the second with the first's token (the paginator reuses one input object).
    expect(calls).toHaveLength(2);
    expect(calls[1]?.NextToken).toBe("page-2");
    expect(calls[0]).toMatchObject({ StartTime: window.start, EndTime: window.end, ScanBy: "TimestampAscending" });
  });
});

describe("a watch's clock (everyUntilStopped)", () => {
  afterEach(() => vi.useRealTimers());

  it("ticks at a fixed rate from its start: a slow tick does not shift the next ones", async () => {
    vi.useFakeTimers();
    const start = Date.now();
    const at: number[] = [];
    const loop = everyUntilStopped(
      60_000,
      async () => {
        at.push(Date.now() - start);
        await new Promise((r) => setTimeout(r, 40_000));
      },
      start,
    );
    await vi.advanceTimersByTimeAsync(200_000);
    expect(at).toEqual([60_000, 120_000, 180_000]);
    const stopped = loop.stop();
    await vi.advanceTimersByTimeAsync(40_000);
    await stopped;
  });

  it("stops at once between ticks, without sitting out the interval", async () => {
    vi.useFakeTimers();
    let ticks = 0;
    const loop = everyUntilStopped(60_000, () => {
      ticks += 1;
      return Promise.resolve();
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ticks).toBe(1);
    // No time passes: the wait for the next tick ends with stop().
    await loop.stop();
    expect(ticks).toBe(1);
  });
});
