// monitoring.yaml deployed to the emulator as lesson 07 deploys it: the
// emulator's CloudFormation makes the topic, the inbox and their policies; the
// alarms, the dashboard and the subscriptions it skips are held by the
// rehearsal from the rendered template (setup/lib/local/monitoring.ts). What
// is checked is what the lesson relies on: the alarms as the template defines
// them, starting in INSUFFICIENT_DATA; the dashboard naming both alarms; the
// topic delivering to the inbox; and a teardown that leaves nothing.
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetDashboardCommand,
  ListDashboardsCommand,
  SetAlarmStateCommand,
} from "@aws-sdk/client-cloudwatch";
import { ListSubscriptionsByTopicCommand, ListTopicsCommand, PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { ListQueuesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import { prefixTags, STACK_CAPABILITIES } from "../setup/lib/aws/naming.ts";
import { deleteStack, deployStack, type DeployResult } from "../setup/lib/aws/stacks.ts";
import { directOperations } from "../setup/lib/local/cloudformation/direct.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";
import { EMULATOR_ACCOUNT_ID } from "../setup/lib/local/emulator/moto.ts";
import {
  holdMonitoring,
  monitoringStack,
  type MonitoringStack,
  releaseHeldMonitoring,
} from "../setup/lib/local/monitoring.ts";

const fixture = useEmulator();
const fast = { pollSeconds: 1, maxWaitSeconds: 60, operations: directOperations };
const prefix = "lab-mon";
const loadBalancer = "app/lab-mon-alb/50dc6c495c0c9188";
const targetGroup = "targetgroup/lab-mon-service-Target-1A2B3C/73e2d6bc24d8a067";
let cfn: CloudFormationClient;
let cw: CloudWatchClient;
let sns: SNSClient;
let sqs: SQSClient;
let stack: MonitoringStack;
let deployed: DeployResult;

beforeAll(async () => {
  cfn = emulatorClient(CloudFormationClient, fixture.config.aws);
  cw = emulatorClient(CloudWatchClient, fixture.config.aws);
  sns = emulatorClient(SNSClient, fixture.config.aws);
  sqs = emulatorClient(SQSClient, fixture.config.aws);
  stack = monitoringStack(cfn, prefix, fixture.config.aws.region);
  deployed = await deployStack(
    cfn,
    {
      name: stack.stackName,
      templateFile: stack.templateFile,
      parameters: {
        Prefix: prefix,
        LoadBalancerFullName: loadBalancer,
        TargetGroupFullName: targetGroup,
        AlarmEmail: "learner@example.com",
      },
      tags: prefixTags(prefix),
      capabilities: STACK_CAPABILITIES.monitoring,
    },
    fast,
  );
  await holdMonitoring({ cw, sns }, stack);
});

afterAll(async () => {
  await releaseHeldMonitoring({ cw }, stack).catch(() => []);
  await deleteStack(cfn, stack.stackName, fast).catch(() => false);
});

const alarm = async (name: string) =>
  ((await cw.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms ?? [])[0];

describe("monitoring.yaml in the rehearsal", () => {
  it("holds both alarms as the template defines them, in INSUFFICIENT_DATA until evaluated", async () => {
    const topic = deployed.outputs.TopicArn;
    expect(topic).toBe(`arn:aws:sns:us-east-1:${EMULATOR_ACCOUNT_ID}:${prefix}-alarms`);
    expect(await alarm(`${prefix}-latency-p90`)).toMatchObject({
      Namespace: "AWS/ApplicationELB",
      MetricName: "TargetResponseTime",
      Dimensions: [{ Name: "LoadBalancer", Value: loadBalancer }],
      ExtendedStatistic: "p90",
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 1,
      TreatMissingData: "notBreaching",
      AlarmActions: [topic],
      OKActions: [topic],
      StateValue: "INSUFFICIENT_DATA",
    });
    expect(await alarm(`${prefix}-target-5xx`)).toMatchObject({
      MetricName: "HTTPCode_Target_5XX_Count",
      Statistic: "Sum",
      Threshold: 5,
      StateValue: "INSUFFICIENT_DATA",
    });
  });

  it("holds the dashboard: the five widgets' metrics on this load balancer, and both alarms", async () => {
    const { DashboardBody } = await cw.send(new GetDashboardCommand({ DashboardName: `${prefix}-app` }));
    const body = JSON.parse(DashboardBody ?? "{}") as {
      widgets: Array<{ type: string; properties: { metrics?: unknown[][]; alarms?: string[] } }>;
    };
    expect(body.widgets.map((w) => w.type)).toEqual(["text", "metric", "metric", "metric", "metric", "alarm"]);
    const metrics = body.widgets.flatMap((w) => w.properties.metrics ?? []);
    expect(metrics.filter((m) => m.includes(loadBalancer)).map((m) => m[1])).toEqual([
      "TargetResponseTime",
      "RequestCount",
      "HTTPCode_Target_5XX_Count",
      "HealthyHostCount",
    ]);
    expect(body.widgets.at(-1)?.properties.alarms).toEqual([
      `arn:aws:cloudwatch:us-east-1:${EMULATOR_ACCOUNT_ID}:alarm:${prefix}-latency-p90`,
      `arn:aws:cloudwatch:us-east-1:${EMULATOR_ACCOUNT_ID}:alarm:${prefix}-target-5xx`,
    ]);
  });

  it("delivers what is published to the topic into the inbox, and mails the address given", async () => {
    const topic = deployed.outputs.TopicArn;
    const { Subscriptions } = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic }));
    expect(Subscriptions?.map((s) => [s.Protocol, s.Endpoint]).sort()).toEqual([
      ["email", "learner@example.com"],
      ["sqs", `arn:aws:sqs:us-east-1:${EMULATOR_ACCOUNT_ID}:${prefix}-alarm-inbox`],
    ]);
    await sns.send(
      new PublishCommand({ TopicArn: topic, Subject: "ALARM: test", Message: '{"NewStateValue":"ALARM"}' }),
    );
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deployed.outputs.InboxUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const envelopes = (Messages ?? []).map((m) => JSON.parse(m.Body ?? "{}") as { Subject?: string; Message?: string });
    expect(envelopes).toEqual([
      expect.objectContaining({ Subject: "ALARM: test", Message: '{"NewStateValue":"ALARM"}' }),
    ]);
  });

  it("held again (a re-run): alarms keep their state, subscriptions are not doubled", async () => {
    await cw.send(
      new SetAlarmStateCommand({ AlarmName: `${prefix}-latency-p90`, StateValue: "ALARM", StateReason: "test" }),
    );
    await holdMonitoring({ cw, sns }, stack);
    expect((await alarm(`${prefix}-latency-p90`))?.StateValue).toBe("ALARM");
    const { Subscriptions } = await sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: deployed.outputs.TopicArn }),
    );
    expect(Subscriptions).toHaveLength(2);
  });

  it("torn down, leaves no alarm, dashboard, topic or queue", async () => {
    expect(await releaseHeldMonitoring({ cw }, stack)).toEqual([
      `alarms ${prefix}-latency-p90, ${prefix}-target-5xx held in the emulator`,
      `dashboard ${prefix}-app held in the emulator`,
    ]);
    expect(await deleteStack(cfn, stack.stackName, fast)).toBe(true);
    expect((await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix }))).MetricAlarms).toEqual([]);
    expect((await cw.send(new ListDashboardsCommand({ DashboardNamePrefix: prefix }))).DashboardEntries ?? []).toEqual(
      [],
    );
    const topics = (await sns.send(new ListTopicsCommand({}))).Topics ?? [];
    expect(topics.filter((t) => t.TopicArn?.includes(prefix))).toEqual([]);
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }))).QueueUrls ?? []).toEqual([]);
  });
});
