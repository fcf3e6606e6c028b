// Step 03: the pipeline and the environment, side by side.
import { ecrRepositoryName, prefixTags, stackName, templateFile } from "./lib/aws/naming.ts";
import { type DeployResult, deployStack } from "./lib/aws/stacks.ts";
import type { RunContext } from "./lib/context.ts";
import { StepError } from "./lib/errors.ts";

export const title = "Pipeline and environment";

export async function run(ctx: RunContext, quiet = false): Promise<void> {
  const { config, ui } = ctx;
  const source = ctx.state.source;
  const bucket = ctx.state.bucket;
  if (!source || !bucket)
    throw new StepError("The source is not seeded yet.", "Run step 02 first (bin/run --from 02).");
  if (!quiet) {
    ui.explain(`Two stacks at once. The pipeline stack: an ECR repository for images, CodeBuild projects
that test and build, and a CodePipeline (Source -> Test -> Build -> Deploy) that starts
on every change. The environment stack: a VPC, a load balancer and an ECS cluster - the
slow part, so it is built while the pipeline's first run is already testing.`);
    if (config.target === "local") {
      ui.info(
        "The emulator stores both stacks but runs neither the pipeline nor the load balancer; step 04 does their work locally.",
      );
    }
  }
  const names = {
    pipeline: stackName(config.prefix, "pipeline"),
    environment: stackName(config.prefix, "environment"),
  };
  const lines: Record<string, string> = { pipeline: `${names.pipeline} …`, environment: `${names.environment} …` };
  const spinner = quiet ? undefined : ui.spin(`${lines.pipeline}   ${lines.environment}`);
  const show = (which: "pipeline" | "environment") => (text: string) => {
    lines[which] = text;
    spinner?.update(`${lines.pipeline}   ${lines.environment}`);
  };
  const log = (t: string) => spinner?.log(t);

  const deploy = (which: "pipeline" | "environment", parameters: Record<string, string>): Promise<DeployResult> =>
    deployStack(
      ctx.aws.cfn,
      {
        name: names[which],
        templateFile: templateFile(which),
        parameters: { Prefix: config.prefix, ...parameters },
        tags: prefixTags(config.prefix),
        capabilities: ["CAPABILITY_IAM"],
      },
      ctx.deployOptions(show(which), log),
    );

  const environment = deploy("environment", {}).then((result) => {
    ctx.state.environmentUrl = result.outputs.AppUrl;
    if (!quiet && result.outputs.AppUrl) {
      log(
        config.target === "local"
          ? `load balancer URL (emulated, not reachable): ${result.outputs.AppUrl}`
          : `app URL: ${result.outputs.AppUrl}  (answers "no version deployed yet" until step 04)`,
      );
    }
    return result;
  });
  const pipeline = deploy("pipeline", {
    ArtifactBucketName: bucket,
    SourceProvider: source.provider,
    RepositoryName: source.provider === "CodeCommit" ? source.location : ecrRepositoryName(config.prefix),
    SourceObjectKey: source.provider === "S3" ? source.location : "source.zip",
  });
  const results = await Promise.allSettled([pipeline, environment]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    spinner?.fail("pipeline and environment: not both deployed");
    throw failed.reason;
  }
  for (const [which, r] of [
    ["pipeline", results[0]],
    ["environment", results[1]],
  ] as const) {
    if (r.status === "fulfilled" && r.value.action === "created") ctx.state.created.push(`stack ${names[which]}`);
  }
  const actions = results.map((r) => (r.status === "fulfilled" ? r.value.action : "failed"));
  spinner?.succeed(`${names.pipeline}: ${actions[0]}; ${names.environment}: ${actions[1]}`);
}
