// Step 04: the first release, followed to a verified answer at the app's URL.
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { stackName } from "./lib/aws/naming.ts";
import { releaseRevision } from "./lib/aws/pipeline-watch.ts";
import type { RunContext } from "./lib/context.ts";
import { StepError } from "./lib/errors.ts";
import { runLocalPipeline } from "./lib/local/pipeline.ts";
import { curlLine, verifyApp, waitForHealthy } from "./lib/verify.ts";
import { SOURCE_KEY } from "./02-seed-repository.ts";

export const title = "Verify the app";

async function releaseOnAws(ctx: RunContext): Promise<{ url: string; version: string }> {
  const { config, ui, state } = ctx;
  const source = state.source as NonNullable<typeof state.source>;
  const pipelineName = stackName(config.prefix, "pipeline");
  const spinner = ui.spin(`waiting for the run of ${pipelineName} that builds ${source.revision.slice(0, 12)}`);
  try {
    const executionId = await releaseRevision(ctx.aws, pipelineName, source, {
      maxWaitSeconds: 1800,
      signal: ctx.signal,
      onRestart: (old, status, fresh) =>
        spinner.log(
          `run ${old.slice(0, 8)} for this revision had ${status.toLowerCase()}: started run ${fresh.slice(0, 8)}`,
        ),
      onStages: (id, stages) =>
        spinner.update(`${pipelineName} ${id.slice(0, 8)}: ${stages.map((s) => `${s.name} ${s.status}`).join(" → ")}`),
    });
    spinner.succeed(`${pipelineName}: run ${executionId.slice(0, 8)} succeeded`);
  } catch (error) {
    spinner.fail(`${pipelineName}: the run did not succeed`);
    throw error;
  }
  if (!state.environmentUrl)
    throw new StepError("The environment's URL is not known.", "Run step 03 first (bin/run --from 03).");
  return { url: state.environmentUrl, version: source.version };
}

async function releaseLocally(ctx: RunContext): Promise<{ url: string; version: string }> {
  const { config, ui, state } = ctx;
  ui.info("Locally, the pipeline's stages run on your Docker engine, in the same order and with the same checks.");
  const spinner = ui.spin("Source");
  const options = ctx.deployOptions(
    (t) => spinner.update(`Deploy: ${t}`),
    (t) => spinner.log(t),
  );
  try {
    const accountId =
      state.accountId ?? (await ctx.aws.sts.send(new GetCallerIdentityCommand({}))).Account ?? "123456789012";
    const release = await runLocalPipeline({
      prefix: config.prefix,
      region: config.aws.region,
      accountId,
      bucket: state.bucket as string,
      key: SOURCE_KEY,
      nodeImage: config.images.node,
      clients: { cfn: ctx.aws.cfn, s3: ctx.aws.s3, ecr: ctx.aws.ecr },
      deployOptions: options,
      signal: ctx.signal,
      onStage: (stage, st, detail) => {
        if (st === "started") spinner.update(`${stage}: ${detail}`);
        else spinner.log(`✓ ${stage}: ${detail}`);
      },
    });
    spinner.succeed(`released ${release.version} locally`);
    return { url: release.url, version: release.version };
  } catch (error) {
    spinner.fail("the local release did not finish");
    throw error;
  }
}

export async function run(ctx: RunContext, quiet = false): Promise<void> {
  const { config, ui, state } = ctx;
  if (!state.source || !state.bucket)
    throw new StepError("The source is not seeded yet.", "Run step 02 first (bin/run --from 02).");
  if (!quiet) {
    ui.explain(`The pipeline's first run is testing and building the exact revision step 02 seeded.
Its Deploy stage then creates the service stack - a Fargate service behind the load
balancer - with that image. This step follows the run, then checks the app really answers.`);
  }
  const { url, version } = config.target === "aws" ? await releaseOnAws(ctx) : await releaseLocally(ctx);

  const spinner = ui.spin(`waiting for ${url}/health`);
  await waitForHealthy(url, {
    maxWaitSeconds: config.target === "aws" ? 600 : 60,
    signal: ctx.signal,
    onAttempt: (n, status) => spinner.update(`waiting for ${url}/health (attempt ${n}: ${status})`),
  });
  const checks = await verifyApp(url, version);
  spinner.succeed(`${url} answers as version ${version}`);
  for (const c of checks) ui.ok(`${c.name}: ${c.detail}`);
  state.appUrl = url;
  state.version = version;
  ui.info(`Try it: ${curlLine(url)}`);
}
