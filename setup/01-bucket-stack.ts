// Step 01: the artifact bucket.
import { readyStack, notDone } from "./checks/check.ts";
import { prefixTags, stackName, templateFile } from "./lib/aws/naming.ts";
import { deployStack } from "./lib/aws/stacks.ts";
import type { RunContext } from "./lib/context.ts";
import { withSpinner } from "./lib/ui/narrator.ts";

export const title = "Artifact bucket";

export async function run(ctx: RunContext): Promise<void> {
  const { config, ui, target } = ctx;
  const name = stackName(config.prefix, "bucket");
  ui.explain(`Every pipeline needs somewhere to keep what passes between its stages: the source it
checked out, the build's output. This CloudFormation stack creates that S3 bucket -
versioned, encrypted, private, reachable over TLS only - from infra/bucket.yaml.`);
  const result = await withSpinner(
    ui,
    `deploying stack ${name}`,
    (spinner) =>
      deployStack(
        ctx.aws.cfn,
        {
          name,
          templateFile: templateFile("bucket"),
          parameters: { Prefix: config.prefix },
          tags: prefixTags(config.prefix),
        },
        target.deployOptions(
          (t) => spinner.update(t),
          (t) => spinner.log(t),
        ),
      ),
    { done: (r) => `${name}: ${r.action}; bucket ${r.outputs.BucketName}`, failed: `${name} failed` },
  );
  ctx.state.bucket = result.outputs.BucketName;
  if (result.action === "created") ctx.state.created.push(`stack ${name} (bucket ${result.outputs.BucketName})`);
}

/** Read only: the bucket, from the ready stack. */
export async function recover(ctx: RunContext): Promise<void> {
  const stack = await readyStack(ctx, "bucket", "01");
  if (!stack.ok) throw notDone(stack.result);
  ctx.state.bucket = stack.outputs.BucketName;
}
