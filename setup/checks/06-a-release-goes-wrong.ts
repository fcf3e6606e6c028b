// Check 06: the fixed version serves, and the failed deployment is in the service's history.
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
  if (!url) return fail("No app is running. Run `bin/lesson 04`, then `bin/lesson 06`.");
  const seeded = await seededRevision(ctx, bucket.outputs.BucketName as string);
  const root = await getJson<{ version?: string }>(`${url}/`);
  if (!root?.version) return fail(`${url}/ does not answer. Wait a minute and check again.`);
  if (seeded && root.version !== seeded.version) {
    return fail(
      `The app serves version ${root.version} but the source is at ${seeded.version}: a release is still rolling out (or failing). Wait, then check again.`,
    );
  }
  const failed = (await ctx.target.serviceEvents(ctx)).find((e) => /deployment failed: /.test(e));
  if (!failed) return fail("The service has no failed deployment in its events yet. Run `bin/lesson 06`.");
  return pass(`Version ${root.version} serves at ${url}, and the service remembers the release that failed: ${failed}`);
}
