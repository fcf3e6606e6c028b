// Step 01: the artifact bucket.
import { prefixTags, stackName, templateFile } from "./lib/aws/naming.ts";
import { deployStack } from "./lib/aws/stacks.ts";
import type { RunContext } from "./lib/context.ts";

export const title = "Artifact bucket";

export async function run(ctx: RunContext, quiet = false): Promise<void> {
  const { config, ui } = ctx;
  const name = stackName(config.prefix, "bucket");
  if (!quiet) {
    ui.explain(`Every pipeline needs somewhere to keep what passes between its stages: the source it
checked out, the build's output. This CloudFormation stack creates that S3 bucket -
versioned, encrypted, private, reachable over TLS only - from infra/bucket.yaml.`);
  }
  const spinner = quiet ? undefined : ui.spin(`deploying stack ${name}`);
  try {
    const result = await deployStack(
      ctx.aws.cfn,
      {
        name,
        templateFile: templateFile("bucket"),
        parameters: { Prefix: config.prefix },
        tags: prefixTags(config.prefix),
      },
      ctx.deployOptions(
        (t) => spinner?.update(t),
        (t) => spinner?.log(t),
      ),
    );
    ctx.state.bucket = result.outputs.BucketName;
    if (result.action === "created") ctx.state.created.push(`stack ${name} (bucket ${result.outputs.BucketName})`);
    spinner?.succeed(`${name}: ${result.action}; bucket ${ctx.state.bucket}`);
  } catch (error) {
    spinner?.fail(`${name} failed`);
    throw error;
  }
}
