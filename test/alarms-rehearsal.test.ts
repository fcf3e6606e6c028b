// Lesson 07's alarms, rehearsed end to end on the real engine: the app served
// behind the load balancer stand-in (lessons 01-04), the monitoring stack
// deployed and held, and the rehearsal's CloudWatch (watchAlarms) turning what
// the proxy saw into the ALB's metrics, evaluating the latency alarm by the
// template's numbers (p90 > 1 s in 2 of 3 periods, each 60 s ÷ 60) and
// publishing each change to the topic, which delivers to the inbox.
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { SNSClient } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import { useLesson } from "../lessons/support/lesson.ts";
import { forwardedTargetGroup, loadBalancerFullName, targetGroupFullName } from "../setup/lib/aws/monitoring-names.ts";
import { prefixTags, STACK_CAPABILITIES, stackName } from "../setup/lib/aws/naming.ts";
import { deployStack, describeStack, outputsOf } from "../setup/lib/aws/stacks.ts";
import { CLOUDWATCH_SPEEDUP } from "../setup/lib/local/clock.ts";
import { directOperations } from "../setup/lib/local/cloudformation/direct.ts";
import { loadBalancerUrl, removeTaskNetwork } from "../setup/lib/local/elbv2/load-balancer.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";
import { EMULATOR_ACCOUNT_ID } from "../setup/lib/local/emulator/moto.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import type { AlarmChange } from "../setup/lib/aws/alarm-watch.ts";
import {
  holdMonitoring,
  monitoringStack,
  type MonitoringStack,
  watchAlarms,
  type WatchOptions,
} from "../setup/lib/local/monitoring.ts";
import { watchTraffic } from "../setup/lib/traffic.ts";
import { runTeardown } from "../setup/teardown.ts";

const fixture = useEmulator();
const prefix = "alarms";
const h = useLesson(fixture, prefix);
let names: { loadBalancer: string; targetGroup: string };
let stack: MonitoringStack;
let inboxUrl: string;
const clients = () => ({
  cfn: emulatorClient(CloudFormationClient, fixture.config.aws),
  cw: emulatorClient(CloudWatchClient, fixture.config.aws),
  sns: emulatorClient(SNSClient, fixture.config.aws),
  sqs: emulatorClient(SQSClient, fixture.config.aws),
});

beforeAll(async () => {
  expect(await h.prepareFor("05"), h.narration).toEqual(["01", "02", "03", "04"]);
  const { cfn } = clients();
  // Found as step 07 finds them: the listener, and the target group its rule forwards to.
  const { ListenerArn = "" } = outputsOf(await describeStack(cfn, stackName(prefix, "environment")));
  names = {
    loadBalancer: loadBalancerFullName(ListenerArn),
    targetGroup: targetGroupFullName(
      await forwardedTargetGroup(emulatorClient(ElasticLoadBalancingV2Client, fixture.config.aws), ListenerArn),
    ),
  };
  stack = monitoringStack(cfn, prefix, fixture.config.aws.region);
  const deployed = await deployStack(
    cfn,
    {
      name: stack.stackName,
      templateFile: stack.templateFile,
      parameters: {
        Prefix: prefix,
        LoadBalancerFullName: names.loadBalancer,
        TargetGroupFullName: names.targetGroup,
      },
      tags: prefixTags(prefix),
      capabilities: STACK_CAPABILITIES.monitoring,
    },
    { pollSeconds: 1, maxWaitSeconds: 60, operations: directOperations },
  );
  inboxUrl = deployed.outputs.InboxUrl ?? "";
  await holdMonitoring(clients(), stack);
}, 300_000);

afterAll(async () => {
  // Teardown deletes the monitoring stack first, with the alarms and dashboard the rehearsal held.
  expect(await runTeardown(["--prefix", prefix, "--target", "local"], h.env(), { output: h.output })).toBe(0);
  expect(h.narration).toMatch(/removed alarms alarms-latency-p90, alarms-target-5xx held in the emulator/);
  expect((await findRehearsal(prefix)).filter((c) => c.role !== "emulator")).toEqual([]);
  expect(await removeTaskNetwork(prefix)).toBe(false);
}, 120_000);

/** The rehearsal's CloudWatch watching these alarms of this run's load balancer, as lesson 07 starts it. */
function watching(alarmNames: string[], also: Pick<WatchOptions, "onChange" | "onPeriod"> = {}) {
  return watchAlarms({
    clients: clients(),
    prefix,
    accountId: EMULATOR_ACCOUNT_ID,
    region: fixture.config.aws.region,
    loadBalancer: names.loadBalancer,
    targetGroup: names.targetGroup,
    alarmNames,
    speedup: CLOUDWATCH_SPEEDUP,
    ...also,
  });
}

/** Requests to `path` from `parallel` loops until `stop` resolves; how many were answered 200. */
async function traffic(url: string, path: string, parallel: number, stop: Promise<unknown>): Promise<number> {
  // The lesson's own callers: about ten requests a second each, as a few users would send.
  const callers = Array.from({ length: parallel }, () => watchTraffic(`${url}${path}`, 100));
  let answered = 0;
  try {
    await stop;
  } finally {
    for (const seen of await Promise.all(callers.map((c) => c.stop({ finish: true }))))
      answered += seen.total - seen.failed;
  }
  return answered;
}

/** Resolves with the first change of `alarm` from `from` to `to` the watch reports. */
function change(
  changes: AlarmChange[],
  alarm: string,
  [from, to]: [string, string],
  withinMs: number,
): Promise<AlarmChange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const found = changes.find((c) => c.alarm === alarm && c.from === from && c.to === to);
      if (found) {
        clearInterval(poll);
        resolve(found);
      } else if (Date.now() - started > withinMs) {
        clearInterval(poll);
        reject(
          new Error(`${alarm} did not go from ${from} to ${to} within ${withinMs} ms: ${JSON.stringify(changes)}`),
        );
      }
    }, 200);
  });
}

describe("the latency alarm, rehearsed", { timeout: 240_000 }, () => {
  it("goes OK with fast traffic, ALARM with slow traffic, OK again when it stops, and mails each change to the inbox", async () => {
    const url = (await loadBalancerUrl(prefix)) ?? "";
    const c = clients();
    const changes: AlarmChange[] = [];
    const periods: number[] = [];
    const watch = await watching([`${prefix}-latency-p90`, `${prefix}-target-5xx`], {
      onChange: (change) => changes.push(change),
      onPeriod: (p) => periods.push(p.requests),
    });
    const latency = `${prefix}-latency-p90`;
    const period = 60_000 / CLOUDWATCH_SPEEDUP;
    try {
      // Fast requests: the alarm leaves INSUFFICIENT_DATA for OK.
      const fast = await traffic(url, "/time", 2, change(changes, latency, ["INSUFFICIENT_DATA", "OK"], 3 * period));
      expect(fast).toBeGreaterThan(0);
      // Two-second requests, four at a time: p90 above 1 s in 2 of 3 periods.
      const slow = await traffic(url, "/sleep/2", 4, change(changes, latency, ["OK", "ALARM"], 5 * period));
      expect(slow).toBeGreaterThan(0);
      // No traffic: missing data is not breaching, and the alarm returns to OK.
      await change(changes, latency, ["ALARM", "OK"], 5 * period);
    } finally {
      await watch.stop();
    }
    expect(changes.filter((x) => x.alarm === latency).map((x) => `${x.from}→${x.to}`)).toEqual([
      "INSUFFICIENT_DATA→OK",
      "OK→ALARM",
      "ALARM→OK",
    ]);
    expect(changes.find((x) => x.to === "ALARM")?.reason).toMatch(
      /^Threshold Crossed: [23] out of the last 3 datapoints \[2\.\d+ .*\] were greater than the threshold \(1\.0\)/,
    );
    // The 5xx alarm saw no errors: OK from its first period.
    expect(changes.filter((x) => x.alarm === `${prefix}-target-5xx`).map((x) => x.to)).toEqual(["OK"]);
    expect((await c.cw.send(new DescribeAlarmsCommand({ AlarmNames: [latency] }))).MetricAlarms?.[0]?.StateValue).toBe(
      "OK",
    );
    expect(periods.some((n) => n > 0)).toBe(true);

    // The metrics are in the emulator's CloudWatch, as the ALB publishes them.
    const { MetricDataResults } = await c.cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(Date.now() - 10 * 60_000),
        EndTime: new Date(Date.now() + 60_000),
        MetricDataQueries: [
          {
            Id: "requests",
            MetricStat: {
              Metric: {
                Namespace: "AWS/ApplicationELB",
                MetricName: "RequestCount",
                Dimensions: [{ Name: "LoadBalancer", Value: names.loadBalancer }],
              },
              Period: 60,
              Stat: "Sum",
            },
          },
        ],
      }),
    );
    expect((MetricDataResults?.[0]?.Values ?? []).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    // The inbox: CloudWatch's notifications, by way of the topic.
    const received: Array<{ Subject: string; Message: string }> = [];
    for (;;) {
      const { Messages } = await c.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: inboxUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (!Messages?.length) break;
      received.push(...Messages.map((m) => JSON.parse(m.Body ?? "{}") as { Subject: string; Message: string }));
    }
    const subjects = received.map((m) => m.Subject);
    expect(subjects).toContain(`ALARM: "${latency}" in US East (N. Virginia)`);
    expect(subjects.filter((s) => s === `OK: "${latency}" in US East (N. Virginia)`)).toHaveLength(2);
    const alarmed = received.find((m) => m.Subject.startsWith("ALARM"));
    expect(JSON.parse(alarmed?.Message ?? "{}")).toMatchObject({
      AlarmName: latency,
      NewStateValue: "ALARM",
      OldStateValue: "OK",
      Trigger: { MetricName: "TargetResponseTime", ExtendedStatistic: "p90" },
    });
  });

  it("refuses an alarm on a metric the load balancer stand-in does not publish, naming it", async () => {
    const c = clients();
    const { PutMetricAlarmCommand } = await import("@aws-sdk/client-cloudwatch");
    await c.cw.send(
      new PutMetricAlarmCommand({
        AlarmName: `${prefix}-odd`,
        Namespace: "AWS/ApplicationELB",
        MetricName: "ConsumedLCUs",
        Dimensions: [{ Name: "LoadBalancer", Value: names.loadBalancer }],
        Statistic: "Sum",
        Period: 60,
        EvaluationPeriods: 1,
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 1,
      }),
    );
    await expect(watching([`${prefix}-odd`])).rejects.toThrow(
      /alarms-odd watches AWS\/ApplicationELB\/ConsumedLCUs, which the rehearsal's load balancer does not publish/,
    );
    const { DeleteAlarmsCommand } = await import("@aws-sdk/client-cloudwatch");
    await c.cw.send(new DeleteAlarmsCommand({ AlarmNames: [`${prefix}-odd`] }));
  });
});
