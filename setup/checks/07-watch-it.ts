// Check 07: the latency alarm exists as infra/monitoring.yaml defines it, and
// the inbox holds an ALARM notification for it followed by an OK one.
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { readInbox } from "../lib/aws/alarm-inbox.ts";
import { monitoringNames } from "../lib/aws/naming.ts";
import { type CheckContext, type CheckResult, fail, pass, readyStack } from "./check.ts";

export async function check(ctx: CheckContext): Promise<CheckResult> {
  const stack = await readyStack(ctx, "monitoring", "07");
  if (!stack.ok) return stack.result;
  const name = monitoringNames(ctx.config.prefix).latencyAlarm;
  const alarm = (await ctx.aws.cw.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms?.[0];
  if (!alarm) return fail(`The alarm ${name} does not exist. Run \`bin/lesson 07\`.`);
  const defined =
    alarm.MetricName === "TargetResponseTime" &&
    alarm.ExtendedStatistic === "p90" &&
    alarm.DatapointsToAlarm === 2 &&
    alarm.EvaluationPeriods === 3 &&
    (alarm.AlarmActions ?? []).includes(stack.outputs.TopicArn ?? "-") &&
    (alarm.OKActions ?? []).includes(stack.outputs.TopicArn ?? "-");
  if (!defined)
    return fail(
      `The alarm ${name} is not as infra/monitoring.yaml defines it (p90 of TargetResponseTime, 2 of 3 periods, notifying ${stack.outputs.TopicArn}). Run \`bin/lesson 07\` again.`,
    );
  const inbox = (await readInbox(ctx.aws.sqs, stack.outputs.InboxUrl ?? "")).filter((n) => n.alarm === name);
  const alarmed = inbox.find((n) => n.state === "ALARM");
  if (!alarmed) return fail(`The inbox holds no ALARM notification for ${name} yet. Run \`bin/lesson 07\`.`);
  const cleared = inbox.find((n) => n.state === "OK" && n.at >= alarmed.at);
  if (!cleared)
    return fail(
      `${name} went off (${alarmed.subject}) but the inbox has no OK after it yet. Wait a few minutes and check again.`,
    );
  return pass(
    `${name} went off and cleared, and the inbox holds both notifications: "${alarmed.subject}", then "${cleared.subject}".`,
  );
}
