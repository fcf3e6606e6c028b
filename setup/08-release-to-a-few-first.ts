// Step 08: release to a few first - the service template moves from ECS's
// rolling deployment to a canary (shipped through the pipeline like any
// change), then a release that passes every test and health check but makes
// GET / slow takes a fifth of production, lesson 07's latency alarm goes off
// during the canary's bake, and ECS sends production back to the old tasks;
// then the fix, whose canary succeeds.
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import type { AlarmChange } from "./lib/aws/alarm-watch.ts";
import { alarmDimensions } from "./lib/aws/monitoring-names.ts";
import { monitoringNames, stackName, templateFile } from "./lib/aws/naming.ts";
import { shipSource } from "./lib/aws/ship-source.ts";
import { collectSource } from "./lib/aws/source.ts";
import { describeStack } from "./lib/aws/stacks.ts";
import { CANARY, withCanaryRelease } from "./lib/changes/canary-template.ts";
import { withCachedGreeting, withSlowGreeting, withTimeMessage } from "./lib/changes/source-changes.ts";
import { CODE_DIR, type RunContext } from "./lib/context.ts";
import { releaseCounted } from "./lib/counted-release.ts";
import { StepError } from "./lib/errors.ts";
import { probe } from "./lib/probe.ts";
import { failureDetail, sharesWhile, type Traffic, watchTraffic } from "./lib/traffic.ts";
import { shortenArns } from "./lib/ui/arns.ts";
import { withSpinner } from "./lib/ui/narrator.ts";
import { verifyApp, waitForHealthy } from "./lib/verify.ts";

export const title = "Release to a few first";

/** Users calling GET / during the slow release: enough requests a period for its p90 to be the canary's. */
const CALLERS = 4;

export async function run(ctx: RunContext): Promise<void> {
  const { ui, target, state, aws, config } = ctx;
  const { bucket, appUrl, source } = state;
  if (!bucket || !appUrl || !source) throw new StepError("The app is not released yet.", "Run `bin/lesson 04` first.");
  const { latencyAlarm } = monitoringNames(config.prefix);
  if (!(await describeStack(aws.cfn, stackName(config.prefix, "monitoring"))))
    throw new StepError(`The alarm ${latencyAlarm} does not exist yet.`, "Run `bin/lesson 07` first.");
  ui.explain(`A rolling release replaces every task; a canary gives the new version a fifth of production
first (${CANARY.percent} % for ${CANARY.canaryBakeMinutes} minutes), then all of it, and keeps the old tasks ${CANARY.bakeMinutes} more minutes. If
lesson 07's latency alarm goes off meanwhile, ECS moves production back to the old tasks, which
still run. First the service template changes to a canary, shipped like any change; then a release
that passes every test and health check but makes GET / slow.`);
  const running = (await probe<{ message?: string }>(`${appUrl}/time`)).json?.message;
  if (!running) throw new StepError(`${appUrl}/time does not answer.`, "Run `bin/lesson 04` first.");
  const app = withTimeMessage(await collectSource(CODE_DIR, templateFile("service")), running);
  const canary = withCanaryRelease(app);

  // 1. The release strategy as code: the template's change, through the pipeline.
  const strategy = await withSpinner(
    ui,
    "committing the service template's change to a canary",
    () => shipSource(ctx, source, bucket, canary, "Release to a fifth of production first (canary)"),
    { done: (c) => c.line },
  );
  state.source = strategy.source;
  await releaseCounted(ctx, strategy.source, bucket);
  ui.ok(
    `The service deploys by canary now: a second target group, the rule forwarding to both, and ${latencyAlarm} to roll back on.`,
  );

  // 2. The slow release, watched by the alarm while users call GET /.
  const changes: AlarmChange[] = [];
  let latencyState = (await aws.cw.send(new DescribeAlarmsCommand({ AlarmNames: [latencyAlarm] }))).MetricAlarms?.[0]
    ?.StateValue;
  const watch = await target.watchAlarms(ctx, {
    ...(await alarmDimensions(aws, config.prefix)),
    alarmNames: [latencyAlarm],
    onChange: (c) => {
      changes.push(c);
      latencyState = c.to;
      ui.info(`${c.alarm}: ${c.from} → ${c.to}. ${c.reason}`);
    },
  });
  try {
    const before = (await probe<{ version?: string }>(`${appUrl}/`)).json?.version ?? "?";
    const slow = await withSpinner(
      ui,
      "committing a change that makes GET / wait on a slow service",
      () => shipSource(ctx, strategy.source, bucket, withSlowGreeting(canary), "Greet from the greeting service"),
      { done: (c) => c.line },
    );
    state.source = slow.source;
    const callers = Array.from({ length: CALLERS }, () => watchTraffic(`${appUrl}/`, 100));
    let failure: Error | undefined;
    try {
      await target.release(ctx, { source: slow.source, bucket, loadBalancerUrl: state.loadBalancerUrl });
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    const seen = merge(await Promise.all(callers.map((c) => c.stop({ finish: true }))));
    if (!failure)
      throw new StepError(
        `The slow release was deployed: ${latencyAlarm} should have rolled it back during the canary's bake.`,
        "Check the service's DeploymentConfiguration Alarms in infra/service.yaml, then run `bin/lesson 08` again.",
      );
    if (!(failure instanceof StepError) || !/Deploy/.test(failure.message)) throw failure;
    ui.ok("The Deploy stage failed, as it should: the latency alarm went off during the canary, and ECS rolled back.");
    sayTraffic(ctx, seen, before, slow.source.version);

    // 3. Back to OK before the fix: an alarm already in ALARM when a deployment begins is not watched.
    if (latencyState !== "OK")
      await withSpinner(ui, `no more slow answers: waiting for ${latencyAlarm} to clear`, async () => {
        const deadline = Date.now() + 10 * target.alarmPeriodSeconds * 1000;
        while (latencyState !== "OK" && !changes.some((c) => c.to === "OK" && c.from === "ALARM")) {
          if (Date.now() > deadline)
            throw new StepError(
              `${latencyAlarm} did not return to OK within 10 periods.`,
              "Look at the alarm in CloudWatch, then run `bin/lesson 08` again.",
            );
          ctx.signal.throwIfAborted();
          await new Promise((r) => setTimeout(r, 500));
        }
      });
    if (!target.narratesServiceEvents) {
      const events = await target.serviceEvents(ctx);
      ui.info("The service's events tell why:");
      for (const event of events
        .filter((e) => /alarm detected|rolling back|shifted/.test(e))
        .slice(0, 5)
        .reverse())
        ui.info(`  ${shortenArns(event, config.verbose)}`);
    }

    // 4. The fix: the greeting looked up once; its canary bakes with the alarm quiet, then takes over.
    const fixed = await withSpinner(
      ui,
      "committing the fix",
      () => shipSource(ctx, slow.source, bucket, withCachedGreeting(canary), "Look the greeting up once, at start"),
      { done: (c) => c.line },
    );
    state.source = fixed.source;
    await releaseCounted(ctx, fixed.source, bucket);
    const url = (await target.appUrl(ctx, state.loadBalancerUrl)) ?? appUrl;
    await waitForHealthy(url, { maxWaitSeconds: target.healthWaitSeconds, signal: ctx.signal });
    const checks = await verifyApp(url, fixed.source.version);
    ui.ok(`The fix took over after its canary: ${checks.map((c) => c.name).join(", ")}`);
    state.version = fixed.source.version;
  } finally {
    await watch.stop();
  }
}

/** Many callers' traffic as one. */
function merge(seen: readonly Traffic[]): Traffic {
  const versions: Record<string, { requests: number; slowestMs: number }> = {};
  for (const s of seen)
    for (const [v, n] of Object.entries(s.versions)) {
      const into = (versions[v] ??= { requests: 0, slowestMs: 0 });
      into.requests += n.requests;
      into.slowestMs = Math.max(into.slowestMs, n.slowestMs);
    }
  const failures: Record<string, number> = {};
  for (const s of seen) for (const [what, n] of Object.entries(s.failures)) failures[what] = (failures[what] ?? 0) + n;
  return {
    total: seen.reduce((n, s) => n + s.total, 0),
    failed: seen.reduce((n, s) => n + s.failed, 0),
    failures,
    slowestMs: Math.max(0, ...seen.map((s) => s.slowestMs)),
    versions,
    answers: seen.flatMap((s) => s.answers).sort((a, b) => a.at - b.at),
  };
}

/** What users saw of the canary: the share it answered while it held one, how slowly, and what failed. */
function sayTraffic(ctx: RunContext, seen: Traffic, before: string, canary: string): void {
  const { ui } = ctx;
  const line = `${seen.total} requests to GET / during the release, ${seen.failed} failed${failureDetail(seen)}`;
  if (seen.failed === 0) ui.ok(`${line}: users saw no failure.`);
  else ui.warn(`${line}.`);
  const during = sharesWhile(seen, canary);
  const all = Object.values(during).reduce((a, b) => a + b, 0);
  if (all === 0) {
    ui.info(`No request reached the canary (version ${canary}).`);
    return;
  }
  const mine = during[canary] ?? 0;
  ui.info(
    `While the canary held its share, ${mine} of ${all} requests (${Math.round((mine * 100) / all)} %; the template says ${CANARY.percent} %) reached it, version ${canary}, answering in up to ${seen.versions[canary]?.slowestMs ?? 0} ms; the others reached version ${before} (slowest ${seen.versions[before]?.slowestMs ?? 0} ms).`,
  );
}

/** Nothing later steps need. */
export function recover(): Promise<void> {
  return Promise.resolve();
}
