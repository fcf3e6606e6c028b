// Check 08: the service serves the latest source (the fix, after its canary),
// the latency alarm is back to OK, and the service's events hold the release
// the alarm rolled back.
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { monitoringNames } from "../lib/aws/naming.ts";
import { type CheckContext, type CheckResult, fail, getJson, pass, runningApp, seededRevision } from "./check.ts";

export async function check(ctx: CheckContext): Promise<CheckResult> {
  const app = await runningApp(ctx, "08");
  if (!app.ok) return app.result;
  const { url } = app;
  const seeded = await seededRevision(ctx, app.bucket);
  const root = await getJson<{ version?: string }>(`${url}/`);
  if (!root?.version) return fail(`${url}/ does not answer. Wait a minute and check again.`);
  if (seeded && root.version !== seeded.version)
    return fail(
      `The app serves version ${root.version} but the source is at ${seeded.version}: a release is still rolling out (or was rolled back). Wait, then check again.`,
    );
  const name = monitoringNames(ctx.config.prefix).latencyAlarm;
  const alarm = (await ctx.aws.cw.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms?.[0];
  if (!alarm) return fail(`The alarm ${name} does not exist. Run \`bin/lesson 07\`, then \`bin/lesson 08\`.`);
  if (alarm.StateValue !== "OK")
    return fail(`${name} is ${alarm.StateValue ?? "unknown"}, not OK yet. Wait a few minutes and check again.`);
  const rolledBack = (await ctx.target.serviceEvents(ctx)).find((e) => /deployment failed: alarm detected/.test(e));
  if (!rolledBack)
    return fail("The service has no release rolled back by an alarm in its events yet. Run `bin/lesson 08`.");
  return pass(
    `Version ${root.version} serves at ${url}, ${name} is OK, and the service remembers the canary the alarm rolled back: ${rolledBack}`,
  );
}
