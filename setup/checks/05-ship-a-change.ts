// Check 05: a change was shipped: the app serves the source's latest version, with a new /time message.
import { TIME_MESSAGE_DEFAULT } from "../lib/changes/source-changes.ts";
import { type CheckContext, type CheckResult, fail, getJson, pass, runningApp, seededRevision } from "./check.ts";

export async function check(ctx: CheckContext): Promise<CheckResult> {
  const app = await runningApp(ctx, "05");
  if (!app.ok) return app.result;
  const { url } = app;
  const time = await getJson<{ message?: string }>(`${url}/time`);
  if (!time?.message) return fail(`${url}/time does not answer. Wait a minute and check again.`);
  if (time.message === TIME_MESSAGE_DEFAULT) {
    return fail(`The app still says "${TIME_MESSAGE_DEFAULT}": no change has been shipped yet. Run \`bin/lesson 05\`.`);
  }
  const seeded = await seededRevision(ctx, app.bucket);
  const root = await getJson<{ version?: string }>(`${url}/`);
  if (seeded && root?.version !== seeded.version) {
    return fail(
      `The app serves version ${root?.version} but the source is at ${seeded.version}: the release is still rolling out. Wait a minute and check again.`,
    );
  }
  return pass(`The change is live: ${url}/time says "${time.message}" (version ${root?.version}).`);
}
