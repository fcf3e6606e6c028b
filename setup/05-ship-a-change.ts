// Step 05: ship a change - commit a new /time message, follow the release it
// triggers, and count what users saw meanwhile.
import { templateFile } from "./lib/aws/naming.ts";
import { shipSource } from "./lib/aws/ship-source.ts";
import { checkMessage, TIME_MESSAGE_SHIPPED, withTimeMessage } from "./lib/changes/source-changes.ts";
import { collectSource } from "./lib/aws/source.ts";
import { CODE_DIR, type RunContext } from "./lib/context.ts";
import { releaseCounted } from "./lib/counted-release.ts";
import { StepError } from "./lib/errors.ts";
import { probe } from "./lib/probe.ts";
import { withSpinner } from "./lib/ui/narrator.ts";
import { verifyApp, waitForHealthy } from "./lib/verify.ts";

export const title = "Ship a change";

export async function run(ctx: RunContext): Promise<void> {
  const { config, ui, target, state } = ctx;
  const { bucket, appUrl, source } = state;
  if (!bucket || !appUrl || !source) throw new StepError("The app is not released yet.", "Run `bin/lesson 04` first.");
  const message = checkMessage(config.message ?? TIME_MESSAGE_SHIPPED);
  ui.explain(`Now the point of it all: change the app and let the pipeline ship it. This step changes
the message GET /time answers, commits it, and follows the release: test, build, and a
rolling deploy that starts new tasks and stops old ones only once the new ones are healthy.
Meanwhile it keeps calling the app, to count what users would have seen fail.
The new message: "${message}"`);
  const files = withTimeMessage(await collectSource(CODE_DIR, templateFile("service")), message);

  // The same provider step 02 chose: the pipeline's source action reads from there.
  const changed = await withSpinner(
    ui,
    "committing the change",
    () => shipSource(ctx, source, bucket, files, `Change the /time message to "${message}"`),
    { done: (c) => c.line },
  );
  state.source = changed.source;

  const release = await releaseCounted(ctx, changed.source, bucket);
  for (const note of release.notes) ui.info(note);

  const { url, version } = release;
  await waitForHealthy(url, { maxWaitSeconds: target.healthWaitSeconds, signal: ctx.signal });
  const checks = await verifyApp(url, version);
  const time = (await probe<{ message?: string }>(`${url}/time`)).json;
  if (time?.message !== message) {
    throw new StepError(
      `${url}/time says "${time?.message}", not the new message.`,
      "The release may still be rolling out: check again in a minute with `bin/lesson 05 --check`.",
    );
  }
  for (const c of checks) ui.ok(`${c.name}: ${c.detail}`);
  state.version = version;
  state.appUrl = url;
}

/** Nothing to read back: what later steps need is step 04's, which its recovery reads (version included). */
export function recover(): Promise<void> {
  return Promise.resolve();
}
