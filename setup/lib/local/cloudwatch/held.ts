// AWS::CloudWatch::Alarm and AWS::CloudWatch::Dashboard, which the emulator's
// CloudFormation skips: made from the rendered template with PutMetricAlarm
// and PutDashboard, as CloudFormation's handlers make them, and deleted with
// the stack. A new alarm starts in INSUFFICIENT_DATA and an updated one keeps
// its state, as on AWS (the emulator puts either in OK).
import {
  type CloudWatchClient,
  DeleteAlarmsCommand,
  DeleteDashboardsCommand,
  DescribeAlarmsCommand,
  type Dimension,
  PutDashboardCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from "@aws-sdk/client-cloudwatch";
import type { Template } from "../../aws/templates.ts";
import { resourcesOfType } from "../cloudformation/render.ts";

type Props = Record<string, unknown>;
/** A rendered property that is text (a name, a body), or `fallback`. */
const text = (v: unknown, fallback: string): string =>
  typeof v === "string" || typeof v === "number" ? String(v) : fallback;
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const num = (v: unknown): number | undefined => (v === undefined ? undefined : Number(v));

/** The Ref/GetAtt values of a template's alarms and dashboards, which the emulator never made. */
export function alarmAndDashboardIds(
  template: Template,
  accountId: string,
  region: string,
): Record<string, Record<string, string>> {
  const ids: Record<string, Record<string, string>> = {};
  for (const [id, r] of resourcesOfType(template, "AWS::CloudWatch::Alarm")) {
    const name = text(r.Properties?.AlarmName, id);
    ids[id] = { Ref: name, Name: name, Arn: `arn:aws:cloudwatch:${region}:${accountId}:alarm:${name}` };
  }
  for (const [id, r] of resourcesOfType(template, "AWS::CloudWatch::Dashboard")) {
    const name = text(r.Properties?.DashboardName, id);
    ids[id] = { Ref: name, Name: name, Arn: `arn:aws:cloudwatch::${accountId}:dashboard/${name}` };
  }
  return ids;
}

/** The alarms and dashboards of a rendered template, made (or updated) in the emulator. */
export async function holdAlarmsAndDashboards(
  cw: CloudWatchClient,
  template: Template,
): Promise<{ alarms: string[]; dashboards: string[] }> {
  const alarms: string[] = [];
  for (const [, r] of resourcesOfType(template, "AWS::CloudWatch::Alarm")) {
    const p = (r.Properties ?? {}) as Props;
    const name = String(p.AlarmName);
    const before = ((await cw.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms ?? [])[0];
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: name,
        AlarmDescription: p.AlarmDescription as string | undefined,
        Namespace: p.Namespace as string,
        MetricName: p.MetricName as string,
        Dimensions: (p.Dimensions as Dimension[] | undefined) ?? [],
        Statistic: p.Statistic as never,
        ExtendedStatistic: p.ExtendedStatistic as string | undefined,
        Unit: p.Unit as never,
        Period: num(p.Period),
        EvaluationPeriods: num(p.EvaluationPeriods),
        DatapointsToAlarm: num(p.DatapointsToAlarm),
        ComparisonOperator: p.ComparisonOperator as never,
        Threshold: num(p.Threshold),
        TreatMissingData: p.TreatMissingData as string | undefined,
        ActionsEnabled: p.ActionsEnabled === undefined || p.ActionsEnabled === true || p.ActionsEnabled === "true",
        AlarmActions: list(p.AlarmActions),
        OKActions: list(p.OKActions),
        InsufficientDataActions: list(p.InsufficientDataActions),
      }),
    );
    // A new alarm starts in INSUFFICIENT_DATA; an updated one keeps its state (the emulator resets it to OK).
    await cw.send(
      new SetAlarmStateCommand({
        AlarmName: name,
        StateValue: before?.StateValue ?? "INSUFFICIENT_DATA",
        StateReason: before?.StateReason ?? "Unchecked: Initial alarm creation",
      }),
    );
    alarms.push(name);
  }
  const dashboards: string[] = [];
  for (const [, r] of resourcesOfType(template, "AWS::CloudWatch::Dashboard")) {
    const p = (r.Properties ?? {}) as Props;
    const name = String(p.DashboardName);
    await cw.send(new PutDashboardCommand({ DashboardName: name, DashboardBody: String(p.DashboardBody) }));
    dashboards.push(name);
  }
  return { alarms, dashboards };
}

/** Deletes the alarms and dashboards a rendered template names; returns what there was to delete. */
export async function releaseAlarmsAndDashboards(
  cw: CloudWatchClient,
  template: Template,
): Promise<{ alarms: string[]; dashboards: string[] }> {
  const named = (type: string, key: string) =>
    resourcesOfType(template, type).map(([, r]) => String(r.Properties?.[key]));
  const wanted = named("AWS::CloudWatch::Alarm", "AlarmName");
  const alarms =
    wanted.length > 0
      ? ((await cw.send(new DescribeAlarmsCommand({ AlarmNames: wanted }))).MetricAlarms ?? []).map(
          (a) => a.AlarmName as string,
        )
      : [];
  if (alarms.length > 0) await cw.send(new DeleteAlarmsCommand({ AlarmNames: alarms }));
  const dashboards = named("AWS::CloudWatch::Dashboard", "DashboardName");
  // DeleteDashboards refuses a list naming one that does not exist: delete one by one, tolerating that.
  const deleted: string[] = [];
  for (const name of dashboards) {
    try {
      await cw.send(new DeleteDashboardsCommand({ DashboardNames: [name] }));
      deleted.push(name);
    } catch (error) {
      if ((error as Error).name !== "ResourceNotFound" && (error as Error).name !== "DashboardNotFoundError")
        throw error;
    }
  }
  return { alarms, dashboards: deleted };
}
