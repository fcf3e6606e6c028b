// Check 01: the artifact bucket stack is ready and its bucket exists.
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { type CheckContext, type CheckResult, fail, pass, readyStack } from "./check.ts";

export async function check(ctx: CheckContext): Promise<CheckResult> {
  const stack = await readyStack(ctx, "bucket", "01");
  if (!stack.ok) return stack.result;
  const bucket = stack.outputs.BucketName;
  if (!bucket) return fail("The bucket stack has no BucketName output. Run `bin/lesson 01` again.");
  const exists = await ctx.aws.s3.send(new HeadBucketCommand({ Bucket: bucket })).then(
    () => true,
    () => false,
  );
  if (!exists) return fail(`The bucket stack is ready but its bucket ${bucket} is gone. Run \`bin/lesson 01\` again.`);
  return pass(`The artifact bucket ${bucket} is ready.`);
}
