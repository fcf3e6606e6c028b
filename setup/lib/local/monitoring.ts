// The monitoring stack (infra/monitoring.yaml) in the emulator. Its
// CloudFormation makes the topic, the inbox queue and their policies; the
// alarms, the dashboard and the subscriptions it skips are made here from the
// rendered template (cloudwatch/held.ts, sns/held.ts), and the alarms and
// dashboard are deleted here before the stack is (its delete leaves them).
// While lesson 07 runs, watchAlarms does what CloudWatch does and the
// emulator does not: metrics from the load balancer stand-in, alarms
// evaluated, changes published.
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from "@aws-sdk/client-cloudwatch";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { actionsFor, type AlarmChange, type AlarmWatch, everyUntilStopped } from "../aws/alarm-watch.ts";
import { stackName, templateFile } from "../aws/naming.ts";
import { StepError } from "../errors.ts";
import type { Template } from "../aws/templates.ts";
import { renderDeployedStack } from "./cloudformation/render.ts";
import { alarmAndDashboardIds, holdAlarmsAndDashboards, releaseAlarmsAndDashboards } from "./cloudwatch/held.ts";
import { alarmMessage, alarmSubject } from "./cloudwatch/alarm-message.ts";
import {
  type AlarmRule,
  type AlarmState,
  type Comparison,
  type Datapoint,
  evaluate,
  knownStatistic,
  statisticOf,
} from "./cloudwatch/alarm-rules.ts";
import { proxyActivity, runningProxy } from "./elbv2/load-balancer.ts";
import { EMULATOR_ACCOUNT_ID } from "./emulator/moto.ts";
import { PUBLISHED_METRICS, periodMetrics, samplesOf } from "./elbv2/request-metrics.ts";
import { type HeldSubscription, holdSubscriptions } from "./sns/held.ts";

/** How long after a period ends its requests are read: HAProxy's log reaches the engine within it. */
const LOG_GRACE_MS = 250;

export interface MonitoringStack {
  readonly cfn: CloudFormationClient;
  readonly stackName: string;
  readonly templateFile: string;
  readonly accountId: string;
  readonly region: string;
}

/** The prefix's monitoring stack, as the emulator in `region` holds it. */
export function monitoringStack(cfn: CloudFormationClient, prefix: string, region: string): MonitoringStack {
  return {
    cfn,
    stackName: stackName(prefix, "monitoring"),
    templateFile: templateFile("monitoring"),
    accountId: EMULATOR_ACCOUNT_ID,
    region,
  };
}

/** The deployed monitoring stack rendered, its alarms and dashboard named as CloudFormation would name them. */
export async function renderMonitoring(stack: MonitoringStack): Promise<Template> {
  const { cfn, stackName, templateFile, accountId, region } = stack;
  // Twice: the first rendering gives the alarms' and dashboard's names, which other resources refer to.
  const first = await renderDeployedStack(cfn, stackName, templateFile, accountId, region);
  return renderDeployedStack(
    cfn,
    stackName,
    templateFile,
    accountId,
    region,
    alarmAndDashboardIds(first, accountId, region),
  );
}

export interface HeldMonitoring {
  readonly alarms: readonly string[];
  readonly dashboards: readonly string[];
  readonly subscriptions: readonly HeldSubscription[];
}

/** After the emulator deployed the monitoring stack: what its CloudFormation skipped, made. */
export async function holdMonitoring(
  clients: { readonly cw: CloudWatchClient; readonly sns: SNSClient },
  stack: MonitoringStack,
): Promise<HeldMonitoring> {
  const template = await renderMonitoring(stack);
  const { alarms, dashboards } = await holdAlarmsAndDashboards(clients.cw, template);
  const subscriptions = await holdSubscriptions(clients.sns, template);
  return { alarms, dashboards, subscriptions };
}

/** Before the monitoring stack is deleted: its alarms and dashboards, which the emulator's delete leaves. */
export async function releaseHeldMonitoring(
  clients: { readonly cw: CloudWatchClient },
  stack: MonitoringStack,
): Promise<string[]> {
  const { alarms, dashboards } = await releaseAlarmsAndDashboards(clients.cw, await renderMonitoring(stack));
  return [
    ...(alarms.length > 0 ? [`alarms ${alarms.join(", ")} held in the emulator`] : []),
    ...(dashboards.length > 0 ? [`dashboard ${dashboards.join(", ")} held in the emulator`] : []),
  ];
}

export interface WatchedPeriod {
  readonly index: number;
  /** Each alarm's datapoint for the period (undefined: no data) and its state after it. */
  readonly alarms: ReadonlyArray<{ readonly name: string; readonly value?: number; readonly state: AlarmState }>;
  readonly requests: number;
}

export interface WatchOptions {
  readonly clients: { readonly cw: CloudWatchClient; readonly sns: SNSClient };
  readonly prefix: string;
  readonly accountId: string;
  readonly region: string;
  /** CloudWatch's names for the load balancer and the target group (app/…, targetgroup/…). */
  readonly loadBalancer: string;
  readonly targetGroup: string;
  readonly alarmNames: readonly string[];
  /** AWS seconds per rehearsal second: one alarm period lasts its Period ÷ this (CLOUDWATCH_SPEEDUP). */
  readonly speedup: number;
  readonly onPeriod?: (period: WatchedPeriod) => void;
  readonly onChange?: (change: AlarmChange) => void;
}

/**
 * CloudWatch for the rehearsal, while a lesson runs: every period (the
 * alarms' Period ÷ the speed-up), the load balancer stand-in's requests and
 * target health become its metrics (PutMetricData, as the ALB publishes
 * them), each alarm is evaluated on its statistic of them (alarm-rules.ts),
 * and a change of state is recorded (SetAlarmState) and published to the
 * alarm's topics as CloudWatch publishes it (alarm-message.ts). The emulator
 * does none of this; it stores the alarms and delivers what SNS publishes.
 */
export async function watchAlarms(options: WatchOptions): Promise<AlarmWatch> {
  const { clients, loadBalancer } = options;
  const { MetricAlarms } = await clients.cw.send(new DescribeAlarmsCommand({ AlarmNames: [...options.alarmNames] }));
  const alarms = MetricAlarms ?? [];
  for (const name of options.alarmNames)
    if (!alarms.some((a) => a.AlarmName === name))
      throw new StepError(`The alarm ${name} does not exist.`, "Deploy the monitoring stack first (bin/lesson 07).");
  const periods = new Set(alarms.map((a) => a.Period ?? 60));
  if (periods.size !== 1)
    throw new StepError(
      `The alarms have different periods (${[...periods].join(", ")} s): the rehearsal evaluates them on one clock.`,
      "Give every alarm of infra/monitoring.yaml the same Period.",
    );
  const rules = alarms.map((a) => {
    const statistic = a.ExtendedStatistic ?? a.Statistic ?? "";
    const watched = a.Dimensions?.find((d) => d.Name === "LoadBalancer")?.Value;
    if (a.Namespace !== "AWS/ApplicationELB" || !(PUBLISHED_METRICS as readonly string[]).includes(a.MetricName ?? ""))
      throw new StepError(
        `The alarm ${a.AlarmName} watches ${a.Namespace}/${a.MetricName}, which the rehearsal's load balancer does not publish (it publishes AWS/ApplicationELB ${PUBLISHED_METRICS.join(", ")}): it would never fire here.`,
        "Alarm on one of those metrics in infra/monitoring.yaml, or try this alarm on AWS.",
      );
    if (watched !== loadBalancer)
      throw new StepError(
        `The alarm ${a.AlarmName} watches the load balancer ${watched ?? "(none)"}, not this run's (${loadBalancer}): it would never fire.`,
        "Check the LoadBalancer dimension in infra/monitoring.yaml.",
      );
    if (!knownStatistic(statistic))
      throw new StepError(
        `The alarm ${a.AlarmName} has no statistic CloudWatch knows (${statistic}).`,
        "Check infra/monitoring.yaml.",
      );
    const rule: AlarmRule = {
      name: a.AlarmName ?? "",
      statistic,
      period: a.Period ?? 60,
      evaluationPeriods: a.EvaluationPeriods ?? 1,
      datapointsToAlarm: a.DatapointsToAlarm ?? a.EvaluationPeriods ?? 1,
      comparison: (a.ComparisonOperator ?? "GreaterThanThreshold") as Comparison,
      threshold: a.Threshold ?? 0,
      treatMissingData: (a.TreatMissingData ?? "missing") as AlarmRule["treatMissingData"],
    };
    return { alarm: a, rule, history: [] as Datapoint[], state: a.StateValue ?? "INSUFFICIENT_DATA" };
  });
  // The proxy standing in for the load balancer: found once, read every period.
  const proxy = await runningProxy(options.prefix);
  if (!proxy)
    throw new StepError(
      `No load balancer stand-in runs for prefix ${options.prefix}: there is nothing to measure.`,
      "Run `bin/lesson 04` first.",
    );
  const periodMs = (([...periods][0] ?? 60) * 1000) / options.speedup;
  const changes: AlarmChange[] = [];
  // Periods begin on a whole second and follow one another exactly, as CloudWatch's do: a query
  // over the watch's window (GetMetricData from `first`, one period a datapoint) finds one
  // datapoint in each.
  const first = Math.ceil(Date.now() / 1000);
  let since = first;
  let index = 0;

  const onePeriod = async () => {
    const end = since + periodMs / 1000;
    const seen = await proxyActivity(proxy, since);
    const requests = seen.requests.filter((r) => r.at.getTime() / 1000 >= since && r.at.getTime() / 1000 < end);
    const start = new Date(since * 1000);
    since = end;
    const data = periodMetrics({
      loadBalancer,
      targetGroup: options.targetGroup,
      timestamp: start,
      requests,
      healthy: seen.healthy,
      unhealthy: seen.unhealthy,
    });
    // PutMetricData takes at most 1000 data a call.
    for (let i = 0; i < data.length; i += 1000)
      await clients.cw.send(
        new PutMetricDataCommand({ Namespace: "AWS/ApplicationELB", MetricData: data.slice(i, i + 1000) }),
      );
    const states: Array<{ name: string; value?: number; state: AlarmState }> = [];
    for (const watched of rules) {
      const value = statisticOf(samplesOf(data, watched.alarm.MetricName ?? ""), watched.rule.statistic);
      watched.history.push({ start, ...(value === undefined ? {} : { value }) });
      const { state, reason } = evaluate(watched.rule, watched.history, watched.state);
      states.push({ name: watched.rule.name, ...(value === undefined ? {} : { value }), state });
      if (state === watched.state) continue;
      const from = watched.state;
      watched.state = state;
      await clients.cw.send(
        new SetAlarmStateCommand({ AlarmName: watched.rule.name, StateValue: state, StateReason: reason }),
      );
      const change = {
        alarm: watched.alarm,
        accountId: options.accountId,
        region: options.region,
        from,
        to: state,
        reason,
        at: new Date(end * 1000),
      };
      const topics = actionsFor(watched.alarm, state).filter((arn) => arn.startsWith("arn:aws:sns:"));
      const recorded = { alarm: watched.rule.name, from, to: state, reason, notified: topics };
      changes.push(recorded);
      // Said as soon as it is recorded: whoever reads the alarm's state (a canary's ECS) may act on it now.
      options.onChange?.(recorded);
      for (const topic of topics)
        await clients.sns.send(
          new PublishCommand({ TopicArn: topic, Subject: alarmSubject(change), Message: alarmMessage(change) }),
        );
    }
    options.onPeriod?.({ index: index++, alarms: states, requests: requests.length });
  };

  // Each period is read a little after it ends, so that the proxy's log holds its last requests.
  const loop = everyUntilStopped(periodMs, onePeriod, first * 1000 + LOG_GRACE_MS);
  return { since: new Date(first * 1000), changes, stop: () => loop.stop() };
}
