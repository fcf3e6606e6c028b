// Check 05: a change was shipped: the app serves the source's latest version, with a new /time message.
import { TIME_MESSAGE_DEFAULT } from "../lib/aws/source-change.ts";
import {
  appUrl,
  type CheckContext,
  type CheckResult,
  fail,
  getJson,
  pass,
  readyStack,
  seededRevision,
} from "./check.ts";

export async function check(ctx: CheckContext): Promise<CheckResult> {
  const bucket = await readyStack(ctx, "bucket", "01");
  if (!bucket.ok) return fail(`Lesson 01 comes first: ${bucket.result.message}`);
  const environment = await readyStack(ctx, "environment", "03");
  if (!environment.ok) return fail(`Lesson 03 comes first: ${environment.result.message}`);
  const url = await appUrl(ctx, environment.outputs.AppUrl);
  if (!url) return fail("No app is running. Run `bin/lesson 04`, then `bin/lesson 05`.");
  const time = await getJson<{ message?: string }>(`${url}/time`);
  if (!time?.message) return fail(`${url}/time does not answer. Wait a minute and check again.`);
  if (time.message === TIME_MESSAGE_DEFAULT) {
    return fail(`The app still says "${TIME_MESSAGE_DEFAULT}": no change has been shipped yet. Run \`bin/lesson 05\`.`);
  }
  const seeded = await seededRevision(ctx, bucket.outputs.BucketName as string);
  const root = await getJson<{ version?: string }>(`${url}/`);
  if (seeded && root?.version !== seeded.version) {
    return fail(
      `The app serves version ${root?.version} but the source is at ${seeded.version}: the release is still rolling out. Wait a minute and check again.`,
    );
  }
  return pass(`The change is live: ${url}/time says "${time.message}" (version ${root?.version}).`);
}
