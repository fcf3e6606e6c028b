// Step 03: the pipeline and the environment, side by side.
import { notDone, readyStack } from "./checks/check.ts";
import { environmentStack, environmentZones } from "./lib/aws/environment-stack.ts";
import {
  codeCommitRepositoryName,
  prefixTags,
  SOURCE_KEY,
  STACK_CAPABILITIES,
  stackName,
  templateFile,
} from "./lib/aws/naming.ts";
import { type DeployResult, deployStack, type StackSpec } from "./lib/aws/stacks.ts";
import type { RunContext } from "./lib/context.ts";
import { StepError } from "./lib/errors.ts";

export const title = "Pipeline and environment";

export async function run(ctx: RunContext): Promise<void> {
  const { config, ui, target, state } = ctx;
  const { source, bucket } = state;
  if (!source || !bucket) throw new StepError("The source is not seeded yet.", "Run `bin/lesson 02` first.");
  ui.explain(`Two stacks at once. The pipeline stack: an ECR repository for images, CodeBuild projects
that test and build, and a CodePipeline (Source -> TestAndBuild -> Deploy) that starts
on every change. The environment stack: a VPC, a load balancer and an ECS cluster - the
slow part, so it is built while the pipeline's first run is already testing.`);
  if (state.environmentStarted)
    ui.info("The environment stack has been on its way since step 01; this step follows it to the end.");
  if (target.notes.stacks) ui.info(target.notes.stacks);
  const names = {
    pipeline: stackName(config.prefix, "pipeline"),
    environment: stackName(config.prefix, "environment"),
  };
  const lines: Record<string, string> = { pipeline: `${names.pipeline} …`, environment: `${names.environment} …` };
  const spinner = ui.spin(`${lines.pipeline}   ${lines.environment}`);
  const show = (which: "pipeline" | "environment") => (text: string) => {
    lines[which] = text;
    spinner.update(`${lines.pipeline}   ${lines.environment}`);
  };
  const log = (t: string) => spinner.log(t);

  const deploy = (which: "pipeline" | "environment", spec: StackSpec): Promise<DeployResult> =>
    deployStack(ctx.aws.cfn, spec, target.deployOptions(show(which), log));

  const zones = await environmentZones(ctx.aws, config.prefix, config.aws.region);
  const environment = deploy("environment", environmentStack(config.prefix, zones)).then((result) => {
    state.loadBalancerUrl = result.outputs.AppUrl;
    if (result.outputs.AppUrl) log(target.notes.loadBalancer(result.outputs.AppUrl));
    return result;
  });
  const pipeline = deploy("pipeline", {
    name: names.pipeline,
    templateFile: templateFile("pipeline"),
    parameters: {
      Prefix: config.prefix,
      ArtifactBucketName: bucket,
      SourceProvider: source.provider,
      RepositoryName: source.provider === "CodeCommit" ? source.location : codeCommitRepositoryName(config.prefix),
      SourceObjectKey: source.provider === "S3" ? source.location : SOURCE_KEY,
    },
    tags: prefixTags(config.prefix),
    capabilities: STACK_CAPABILITIES.pipeline,
  });
  const results = await Promise.allSettled([pipeline, environment]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    spinner.fail("pipeline and environment: not both deployed");
    throw failed.reason;
  }
  // The create step 01 started is this run's, whether it ended before this step looked or during it.
  const action = (which: "pipeline" | "environment", result: DeployResult) =>
    which === "environment" && state.environmentStarted && result.action !== "updated" ? "created" : result.action;
  const actions = (["pipeline", "environment"] as const).map((which, i) => {
    const r = results[i];
    return r?.status === "fulfilled" ? action(which, r.value) : "failed";
  });
  (["pipeline", "environment"] as const).forEach((which, i) => {
    if (actions[i] === "created") state.created.push(`stack ${names[which]}`);
  });
  spinner.succeed(`${names.pipeline}: ${actions[0]}; ${names.environment}: ${actions[1]}`);
  const held = await target.pipelineDeployed(ctx);
  if (held) ui.ok(held);
}

/** Read only: both stacks ready, and the load balancer's URL. */
export async function recover(ctx: RunContext): Promise<void> {
  const pipeline = await readyStack(ctx, "pipeline", "03");
  if (!pipeline.ok) throw notDone(pipeline.result);
  const environment = await readyStack(ctx, "environment", "03");
  if (!environment.ok) throw notDone(environment.result);
  ctx.state.loadBalancerUrl = environment.outputs.AppUrl;
}
