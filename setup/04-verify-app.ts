// Step 04: the first release, followed to a verified answer at the app's URL.
import { appUrl, fail, getJson, notDone, readyStack } from "./checks/check.ts";
import type { RunContext } from "./lib/context.ts";
import { StepError } from "./lib/errors.ts";
import { withSpinner } from "./lib/ui/narrator.ts";
import { curlLine, verifyApp, waitForHealthy } from "./lib/verify.ts";

export const title = "Verify the app";

export async function run(ctx: RunContext): Promise<void> {
  const { ui, target, state } = ctx;
  const { source, bucket } = state;
  if (!source || !bucket) throw new StepError("The source is not seeded yet.", "Run `bin/lesson 02` first.");
  ui.explain(`The pipeline's first run is testing and building the exact revision step 02 seeded.
Its Deploy stage then creates the service stack - a Fargate service behind the load
balancer - with that image. This step follows the run, then checks the app really answers.`);
  if (target.notes.release) ui.info(target.notes.release);
  const release = await target.release(ctx, { source, bucket, loadBalancerUrl: state.loadBalancerUrl });
  for (const note of release.notes) ui.info(note);

  const { url, version } = release;
  const checks = await withSpinner(
    ui,
    `waiting for ${url}/health`,
    async (spinner) => {
      await waitForHealthy(url, {
        maxWaitSeconds: target.healthWaitSeconds,
        signal: ctx.signal,
        onAttempt: (n, status) => spinner.update(`waiting for ${url}/health (attempt ${n}: ${status})`),
      });
      return verifyApp(url, version);
    },
    { done: () => `${url} answers as version ${version}` },
  );
  for (const c of checks) ui.ok(`${c.name}: ${c.detail}`);
  state.appUrl = url;
  state.version = version;
  ui.info(`Try it: ${curlLine(url)}`);
}

/** Read only: where the released app answers, and its version. */
export async function recover(ctx: RunContext): Promise<void> {
  const service = await readyStack(ctx, "service", "04");
  if (!service.ok) throw notDone(service.result);
  const url = await appUrl(ctx, ctx.state.loadBalancerUrl);
  const root = url ? await getJson<{ version?: string }>(`${url}/`) : undefined;
  if (!url || !root?.version)
    throw notDone(fail("The service stack is ready but no app answers. Run `bin/lesson 04` again."));
  ctx.state.appUrl = url;
  ctx.state.version = root.version;
}
