// A local release: the pipeline the emulator holds, run by the stand-ins
// (codepipeline.ts, pipeline-actions.ts) for the seeded revision, then the
// image its Deploy stage put into the service stack, pulled from the local
// registry and run on 127.0.0.1 in place of the Fargate service.
import { randomBytes } from "node:crypto";
import { type CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import type { CodeBuildClient } from "@aws-sdk/client-codebuild";
import type { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { S3Client } from "@aws-sdk/client-s3";
import { StepError } from "../errors.ts";
import { pipelineName, stackName } from "../aws/naming.ts";
import type { DeployOptions } from "../aws/stacks.ts";
import type { StageLine } from "../ui/pipeline-progress.ts";
import { runPipeline } from "./codepipeline.ts";
import { connectDocker } from "./docker.ts";
import { localProviders } from "./pipeline-actions.ts";
import { readHeldPipeline } from "./pipeline-definition.ts";
import { ensureAppContainer } from "./rehearsal.ts";

export interface LocalReleaseInput {
  readonly prefix: string;
  readonly region: string;
  readonly accountId: string;
  readonly endpoint: string;
  readonly images: { readonly build: string; readonly node: string };
  /** The local registry's address (registry.ts). */
  readonly registry: string;
  readonly clients: {
    readonly s3: S3Client;
    readonly cb: CodeBuildClient;
    readonly cp: CodePipelineClient;
    readonly cfn: CloudFormationClient;
    readonly ecr: ECRClient;
  };
  readonly deployOptions: DeployOptions;
  readonly onStages?: (executionId: string, stages: readonly StageLine[]) => void;
  readonly say?: (line: string) => void;
  readonly onBuildLine?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface LocalRelease {
  readonly executionId: string;
  readonly image: string;
  /** The app's URL: the container standing in for the service, on 127.0.0.1. */
  readonly url: string;
  /** When a running app was replaced: how long its URL did not answer. */
  readonly downtimeMs?: number;
}

/** Pulls an image from the local registry, as a Fargate task pulls from ECR. */
async function pullImage(image: string): Promise<void> {
  const docker = (await connectDocker()).container.dockerode;
  const stream = await docker.pull(image);
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** The image the service stack runs: its ImageUri parameter, as the Deploy stage set it. */
async function deployedImage(cfn: CloudFormationClient, prefix: string): Promise<string> {
  const name = stackName(prefix, "service");
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: name }));
  const image = Stacks?.[0]?.Parameters?.find((p) => p.ParameterKey === "ImageUri")?.ParameterValue;
  if (!image) throw new StepError(`${name} has no ImageUri parameter.`, "Check infra/service.yaml.");
  return image;
}

export async function releaseLocally(input: LocalReleaseInput): Promise<LocalRelease> {
  const pipeline = await readHeldPipeline(input.clients, pipelineName(input.prefix));
  const run = await runPipeline({
    pipeline,
    s3: input.clients.s3,
    providers: localProviders({
      prefix: input.prefix,
      region: input.region,
      accountId: input.accountId,
      endpoint: input.endpoint,
      buildImage: input.images.build,
      nodeImage: input.images.node,
      registry: input.registry,
      clients: input.clients,
      deployOptions: input.deployOptions,
      ...(input.onBuildLine ? { onBuildLine: input.onBuildLine } : {}),
    }),
    ...(input.onStages ? { onStages: input.onStages } : {}),
    ...(input.say ? { say: input.say } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  });
  const image = await deployedImage(input.clients.cfn, input.prefix);
  try {
    await pullImage(image);
  } catch (error) {
    throw new StepError(
      `The service's image ${image} could not be pulled from the local registry: ${(error as Error).message}`,
      "Run the same command again; if the registry was removed, `bin/teardown --target local` first.",
      error,
    );
  }
  // A fresh secret per container, as the stack's generated secret would be; never printed.
  const app = await ensureAppContainer(input.prefix, image, {
    JWT_SECRET: randomBytes(48).toString("base64"),
    LOG_LEVEL: "info",
  });
  return {
    executionId: run.executionId,
    image,
    url: app.url,
    ...(app.downtimeMs !== undefined ? { downtimeMs: app.downtimeMs } : {}),
  };
}
