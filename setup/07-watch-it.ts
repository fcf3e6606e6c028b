// Step 07: watch it - alarms on what users feel (the slowest tenth of the
// responses, the tasks' server errors), a notification for every change of
// state, and a dashboard; then the app made slow on purpose, to see the alarm
// go off, the notification arrive, and the alarm clear when it is fast again.
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import type { AlarmChange } from "./lib/aws/alarm-watch.ts";
import { readInbox } from "./lib/aws/alarm-inbox.ts";
import { metricQueries } from "./lib/aws/dashboard-body.ts";
import { alarmDimensions } from "./lib/aws/monitoring-names.ts";
import { monitoringNames, prefixTags, STACK_CAPABILITIES, stackName, templateFile } from "./lib/aws/naming.ts";
import { deployStack } from "./lib/aws/stacks.ts";
import type { RunContext } from "./lib/context.ts";
import { readDashboard, seriesSpec, writeDashboardPicture } from "./lib/dashboard.ts";
import { StepError } from "./lib/errors.ts";
import { watchTraffic } from "./lib/traffic.ts";
import { withSpinner } from "./lib/ui/narrator.ts";
import { terminalChart } from "./lib/ui/terminal-chart.ts";

export const title = "Watch it";

/** The slow requests: each 2 s (the alarm's threshold is 1 s), eight at a time. */
const SLOW_PATH = "/sleep/2";
const SLOW_CALLERS = 8;

export async function run(ctx: RunContext): Promise<void> {
  const { config, ui, target, state, aws } = ctx;
  const { appUrl } = state;
  if (!appUrl) throw new StepError("The app is not released yet.", "Run `bin/lesson 04` first.");
  const prefix = config.prefix;
  const period = target.alarmPeriodSeconds;
  ui.explain(`A release that passes its checks can still be slow for users. This step adds two alarms
on what they feel - the 90th percentile of response times (above 1 s in 2 of 3 one-minute
periods) and the tasks' server errors - a topic that announces every change of state, an
inbox queue subscribed to it (and your mail, with --email), and a dashboard. Then it makes
the app slow on purpose with GET ${SLOW_PATH}, and watches the alarm go off and clear.`);

  const names = await alarmDimensions(aws, prefix);
  const monitoring = stackName(prefix, "monitoring");
  const deployed = await withSpinner(
    ui,
    `deploying ${monitoring}`,
    (spinner) =>
      deployStack(
        aws.cfn,
        {
          name: monitoring,
          templateFile: templateFile("monitoring"),
          parameters: {
            Prefix: prefix,
            LoadBalancerFullName: names.loadBalancer,
            TargetGroupFullName: names.targetGroup,
            AlarmEmail: config.email ?? "",
          },
          tags: prefixTags(prefix),
          capabilities: STACK_CAPABILITIES.monitoring,
        },
        target.deployOptions(
          (t) => spinner.update(t),
          (t) => spinner.log(t),
        ),
      ),
    { done: (r) => `stack ${monitoring} ${r.action}` },
  );
  const held = await target.monitoringDeployed(ctx);
  if (held) ui.info(held);
  if (config.email)
    ui.info(
      target.kind === "aws"
        ? `AWS mailed ${config.email} a link: confirm it to get the alarms' mails (the lesson reads its inbox queue either way).`
        : `The rehearsal records ${config.email}'s subscription; nothing is mailed from here.`,
    );

  // By name, as the template names them (the emulator drops outputs that refer to what it skipped).
  const { latencyAlarm: latency, errorsAlarm: errors, dashboard } = monitoringNames(prefix);
  // The latency alarm's state: read once here, then kept by the watch's reports (no second poll).
  const latencyAlarm = (await aws.cw.send(new DescribeAlarmsCommand({ AlarmNames: [latency] }))).MetricAlarms?.[0];
  let latencyState = latencyAlarm?.StateValue;
  const widgets = await readDashboard(ctx, dashboard);
  const changes: AlarmChange[] = [];
  const watch = await target.watchAlarms(ctx, {
    ...names,
    alarmNames: [latency, errors],
    onChange: (c) => {
      if (c.alarm === latency) {
        latencyState = c.to;
        changes.push(c);
      }
      ui.info(`${c.alarm}: ${c.from} → ${c.to}. ${c.reason}`);
    },
  });
  // On a terminal: the p90 the alarm watches, as the dashboard graphs it, each time the alarm has changed.
  const latencySeries = seriesSpec(widgets, "TargetResponseTime", "p90");
  const showLatency = async () => {
    if (!ui.tty || !latencySeries) return;
    const [p90] = await target.metricData(ctx, metricQueries([latencySeries]), { start: watch.since, end: new Date() });
    const values = (p90?.points ?? []).map((p) => p.value);
    const chart = terminalChart({ values, threshold: latencyAlarm?.Threshold, unit: " s", color: config.color });
    if (chart.length > 0)
      ui.info(`p90 response time, a point a period with requests (the alarm's threshold flat, from zero):`);
    for (const line of chart) ui.info(line);
  };
  /** Until the latency alarm is `to`, or went there since the wait began (a state can pass between two looks). */
  const until = (to: string, periods: number, label: string) =>
    withSpinner(ui, label, async () => {
      const since = changes.length;
      const deadline = Date.now() + periods * period * 1000;
      for (;;) {
        if (latencyState === to || changes.slice(since).some((c) => c.to === to)) return;
        if (Date.now() > deadline)
          throw new StepError(
            `${latency} did not go to ${to} within ${periods} periods (${Math.round(periods * period)} s).`,
            "Look at the alarm in CloudWatch (its history says why), then run `bin/lesson 07` again.",
          );
        ctx.signal.throwIfAborted();
        await new Promise((r) => setTimeout(r, Math.min(1_000, period * 250)));
      }
    });
  try {
    if (latencyState === "INSUFFICIENT_DATA") {
      const fast = watchTraffic(`${appUrl}/time`, 100);
      try {
        await until("OK", 6, `calling GET /time until ${latency} has data (a period lasts ${period} s)`);
      } finally {
        await fast.stop();
      }
      await showLatency();
    }
    const slow = Array.from({ length: SLOW_CALLERS }, () => watchTraffic(`${appUrl}${SLOW_PATH}`, 100));
    try {
      await until("ALARM", 8, `calling GET ${SLOW_PATH}, ${SLOW_CALLERS} at a time, until ${latency} goes off`);
    } finally {
      // The requests already sent are answered, slowly, as users waiting for them would be: counted too.
      await Promise.all(slow.map((s) => s.stop({ finish: true })));
    }
    ui.ok(`${latency} went off: the slowest tenth of the answers took more than 1 s, in 2 of 3 periods.`);
    await showLatency();
    await until("OK", 8, `no more slow requests: waiting for ${latency} to clear`);
    ui.ok(`${latency} is OK again: with no slow requests, its missing datapoints count as not breaching.`);
  } finally {
    await watch.stop();
  }

  const drawn = await withSpinner(
    ui,
    `drawing the dashboard ${dashboard} from its metric data`,
    () => writeDashboardPicture(ctx, dashboard, { start: watch.since, end: new Date() }, config.picturesDir),
    {
      done: (d) =>
        `dashboard drawn (${Object.entries(d.points)
          .map(([label, n]) => `${label} ${n}`)
          .join(", ")} datapoints): ${d.png}`,
    },
  );
  ui.info(`The same as SVG: ${drawn.svg}`);
  if (config.inDemoImage)
    ui.info("(Inside the image: mount ~/.aws-cicd-lab at /home/lab/.aws-cicd-lab, as the README shows, to keep it.)");

  const inbox = await readInbox(aws.sqs, deployed.outputs.InboxUrl ?? "");
  ui.info(`The inbox (${deployed.outputs.InboxUrl}) holds what the topic announced:`);
  for (const n of inbox.slice(-4)) ui.info(`  ${n.subject} - ${n.reason}`);
  ui.info(
    target.kind === "aws"
      ? `The dashboard in the console: https://${config.aws.region}.console.aws.amazon.com/cloudwatch/home?region=${config.aws.region}#dashboards/dashboard/${dashboard}`
      : `The dashboard ${dashboard} is held in the emulator (its body, as the template defines it, answers GetDashboard); on AWS the CloudWatch console draws it too.`,
  );
}

/** Nothing later steps need. */
export function recover(): Promise<void> {
  return Promise.resolve();
}
