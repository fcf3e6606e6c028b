// Step 06: a release that goes wrong - ship a change that passes every test but
// cannot serve in production, watch the deployment fail its health checks, the
// circuit breaker trip and the service roll back while users keep being
// served, then ship the fix (a revert).
import { templateFile } from "./lib/aws/naming.ts";
import { shipSource } from "./lib/aws/ship-source.ts";
import { withLoopbackOnly, withTimeMessage } from "./lib/changes/source-changes.ts";
import { collectSource, type CurrentSource } from "./lib/aws/source.ts";
import { CODE_DIR, type RunContext } from "./lib/context.ts";
import { releaseCounted } from "./lib/counted-release.ts";
import { StepError } from "./lib/errors.ts";
import { probe } from "./lib/probe.ts";
import { shortenArns } from "./lib/ui/arns.ts";
import { withSpinner } from "./lib/ui/narrator.ts";
import { verifyApp, waitForHealthy } from "./lib/verify.ts";

export const title = "A release that goes wrong";

/** The error a counted release ended with; undefined when it succeeded. */
async function releaseFailure(ctx: RunContext, source: CurrentSource, bucket: string): Promise<Error | undefined> {
  try {
    await releaseCounted(ctx, source, bucket);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

export async function run(ctx: RunContext): Promise<void> {
  const { ui, target, state } = ctx;
  const { bucket, appUrl, source } = state;
  if (!bucket || !appUrl || !source) throw new StepError("The app is not released yet.", "Run `bin/lesson 04` first.");
  ui.explain(`What CI/CD is most for: a bad release that never reaches users. This change makes the app
listen on 127.0.0.1 only - "safer", and every unit test passes - but the load balancer reaches each task
at its own address, so the new tasks fail their health checks; ECS's circuit breaker rolls back to the
version that works, and the old tasks serve users all along.`);
  const running = (await probe<{ message?: string }>(`${appUrl}/time`)).json?.message;
  if (!running) throw new StepError(`${appUrl}/time does not answer.`, "Run `bin/lesson 04` first.");
  const good = withTimeMessage(await collectSource(CODE_DIR, templateFile("service")), running);

  const broken = await withSpinner(
    ui,
    "committing the change",
    () => shipSource(ctx, source, bucket, withLoopbackOnly(good), "Listen on 127.0.0.1 only"),
    { done: (c) => c.line },
  );
  state.source = broken.source;
  const failure = await releaseFailure(ctx, broken.source, bucket);
  if (!failure)
    throw new StepError(
      "The release listening on 127.0.0.1 only was deployed: the load balancer's health checks should have stopped it.",
      "Check the target group's health check in infra/service.yaml, then run `bin/lesson 06` again.",
    );
  if (!(failure instanceof StepError) || !/Deploy/.test(failure.message)) throw failure;
  ui.ok(
    target.narratesServiceEvents
      ? "The Deploy stage failed, as it should: the new tasks failed the health checks (the service's events above), and the breaker rolled back."
      : "The Deploy stage failed, as it should: the pipeline stopped a release that cannot serve.",
  );
  if (target.notes.failedRelease) ui.info(target.notes.failedRelease);
  if (!target.narratesServiceEvents) {
    const events = await target.serviceEvents(ctx);
    const story = events
      .filter((e) => /deployment failed|rolling back|unhealthy|failed ELB health checks|exited/.test(e))
      .slice(0, 6)
      .reverse();
    ui.info("The service's events tell why:");
    for (const event of story) ui.info(`  ${shortenArns(event, ctx.config.verbose)}`);
  }

  ui.explain(`The fix is a revert: the source as it was, which is what runs now - nothing new to roll out.`);
  const fixed = await withSpinner(
    ui,
    "committing the revert",
    () => shipSource(ctx, broken.source, bucket, good, 'Revert "Listen on 127.0.0.1 only"'),
    { done: (c) => c.line },
  );
  state.source = fixed.source;
  await releaseCounted(ctx, fixed.source, bucket);
  const url = (await target.appUrl(ctx, state.loadBalancerUrl)) ?? appUrl;
  await waitForHealthy(url, { maxWaitSeconds: target.healthWaitSeconds, signal: ctx.signal });
  const checks = await verifyApp(url, fixed.source.version);
  ui.ok(`The app answers as before the change: ${checks.map((c) => c.name).join(", ")}`);
  state.version = fixed.source.version;
}

/** Nothing to read back beyond step 04's recovery. */
export function recover(): Promise<void> {
  return Promise.resolve();
}
