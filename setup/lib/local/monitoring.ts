// The monitoring stack (infra/monitoring.yaml) in the emulator. Its
// CloudFormation makes the topic, the inbox queue and their policies; the
// alarms, the dashboard and the subscriptions it skips are made here from the
// rendered template (cloudwatch/held.ts, sns/held.ts), and the alarms and
// dashboard are deleted here before the stack is (its delete leaves them).
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { Template } from "../aws/templates.ts";
import { renderDeployedStack } from "./cloudformation/render.ts";
import { alarmAndDashboardIds, holdAlarmsAndDashboards, releaseAlarmsAndDashboards } from "./cloudwatch/held.ts";
import { type HeldSubscription, holdSubscriptions } from "./sns/held.ts";

export interface MonitoringStack {
  readonly cfn: CloudFormationClient;
  readonly stackName: string;
  readonly templateFile: string;
  readonly accountId: string;
  readonly region: string;
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
