// Check 04: the service stack is ready and the app answers, healthy, at its URL.
import { appUrl, type CheckContext, type CheckResult, fail, getJson, pass, readyStack } from "./check.ts";

export async function check(ctx: CheckContext): Promise<CheckResult> {
  const service = await readyStack(ctx, "service", "04");
  if (!service.ok) return service.result;
  const environment = await readyStack(ctx, "environment", "03");
  if (!environment.ok) return fail(`Lesson 03 comes first: ${environment.result.message}`);
  const url = await appUrl(ctx, environment.outputs.AppUrl);
  if (!url) return fail("The service stack is ready but no app is running. Run `bin/lesson 04` again.");
  const health = await getJson<{ status?: string }>(`${url}/health`);
  if (health?.status !== "ok")
    return fail(`The service stack is ready but ${url}/health does not answer ok yet. Wait a minute and check again.`);
  const root = await getJson<{ version?: string }>(`${url}/`);
  return pass(`The app answers at ${url} as version ${root?.version ?? "?"}.`);
}
