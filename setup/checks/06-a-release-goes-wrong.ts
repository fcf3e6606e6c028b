// Check 06: the fixed version serves, and the failed deployment is in the service's history.
import { type CheckContext, type CheckResult, fail, getJson, pass, runningApp, seededRevision } from "./check.ts";

export async function check(ctx: CheckContext): Promise<CheckResult> {
  const app = await runningApp(ctx, "06");
  if (!app.ok) return app.result;
  const { url } = app;
  const seeded = await seededRevision(ctx, app.bucket);
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
