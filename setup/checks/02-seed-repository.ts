// Check 02: the app's source is where the pipeline takes it from.
import { type CheckContext, type CheckResult, fail, pass, readyStack, seededRevision } from "./check.ts";

export async function check(ctx: CheckContext): Promise<CheckResult> {
  const stack = await readyStack(ctx, "bucket", "01");
  if (!stack.ok) return fail(`Lesson 01 comes first: ${stack.result.message}`);
  const seeded = await seededRevision(ctx, stack.outputs.BucketName as string);
  if (!seeded)
    return fail(
      "The app is not seeded yet: no CodeCommit branch main and no source.zip in the bucket. Run `bin/lesson 02`.",
    );
  return pass(
    seeded.provider === "CodeCommit"
      ? `The app is in CodeCommit: branch main is at ${seeded.version}.`
      : `The app is in the bucket as source.zip, version ${seeded.version}.`,
  );
}
