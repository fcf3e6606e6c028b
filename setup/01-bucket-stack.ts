// Step 01: the artifact bucket.
import { readyStack, notDone } from "./checks/check.ts";
import { environmentStack, environmentZones } from "./lib/aws/environment-stack.ts";
import { prefixTags, stackName, templateFile } from "./lib/aws/naming.ts";
import { deployStack, startStack } from "./lib/aws/stacks.ts";
import type { RunContext } from "./lib/context.ts";
import { withSpinner } from "./lib/ui/narrator.ts";

export const title = "Artifact bucket";

export async function run(ctx: RunContext): Promise<void> {
  const { config, ui, target } = ctx;
  const name = stackName(config.prefix, "bucket");
  ui.explain(`Every pipeline needs somewhere to keep what passes between its stages: the source it
checked out, the build's output. This CloudFormation stack creates that S3 bucket -
versioned, encrypted, private, reachable over TLS only - from infra/bucket.yaml.`);
  // The environment (VPC, load balancer, cluster) is the slowest stack and needs nothing from
  // this one: when this run goes on to step 03, it starts now, side by side with the bucket.
  const startsEnvironment = ctx.state.steps?.includes("03") ?? false;
  if (startsEnvironment)
    ui.explain(`The environment stack step 03 needs (a VPC, a load balancer, an ECS cluster) takes
about 3 minutes on AWS and needs nothing from this one, so it starts now too.`);
  const silent = target.deployOptions(
    () => undefined,
    () => undefined,
  );
  const environment = startsEnvironment
    ? environmentZones(ctx.aws, config.prefix, config.aws.region).then((zones) =>
        startStack(ctx.aws.cfn, environmentStack(config.prefix, zones), silent),
      )
    : Promise.resolve(false);
  const bucket = withSpinner(
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
  const [bucketDone, environmentDone] = await Promise.allSettled([bucket, environment]);
  if (environmentDone.status === "fulfilled" && environmentDone.value) {
    ctx.state.environmentStarted = true;
    ui.ok(`${stackName(config.prefix, "environment")}: started (step 03 follows it to the end)`);
  }
  if (bucketDone.status === "rejected") throw bucketDone.reason;
  if (environmentDone.status === "rejected") throw environmentDone.reason;
  const result = bucketDone.value;
  ctx.state.bucket = result.outputs.BucketName;
  if (result.action === "created") ctx.state.created.push(`stack ${name} (bucket ${result.outputs.BucketName})`);
}

/** Read only: the bucket, from the ready stack. */
export async function recover(ctx: RunContext): Promise<void> {
  const stack = await readyStack(ctx, "bucket", "01");
  if (!stack.ok) throw notDone(stack.result);
  ctx.state.bucket = stack.outputs.BucketName;
}
