// A local release: the pipeline the emulator holds, run by the stand-ins
// (codepipeline.ts, pipeline-actions.ts) for the seeded revision. When its
// Deploy stage has updated the service stack, the service runs as ECS would
// run it: the task definition's image pulled from the local registry, tasks
// rolled out behind the load balancer stand-in, whose listener on 127.0.0.1
// is the app's URL.
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { CodeBuildClient } from "@aws-sdk/client-codebuild";
import type { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { StepError } from "../errors.ts";
import { pipelineName, stackName } from "../aws/naming.ts";
import type { DeployOptions } from "../aws/stacks.ts";
import type { StageLine } from "../ui/pipeline-progress.ts";
import { REHEARSAL_SPEEDUP } from "./clock.ts";
import { runPipeline } from "./codepipeline/run.ts";
import { connectDocker } from "./engine/client.ts";
import { localProviders } from "./codepipeline/actions.ts";
import { readHeldPipeline } from "./codepipeline/definition.ts";
import { rollOutService, type RolloutResult } from "./ecs/service.ts";
import { ensureLoadBalancer } from "./elbv2/load-balancer.ts";
import { readServiceDefinition, secretValue } from "./ecs/definition.ts";
import { recordServiceEvents } from "./ecs/events.ts";

export interface LocalReleaseInput {
  readonly prefix: string;
  readonly region: string;
  readonly accountId: string;
  readonly endpoint: string;
  readonly images: { readonly build: string; readonly node: string; readonly proxy: string };
  /** The local registry's address (registry.ts). */
  readonly registry: string;
  readonly clients: {
    readonly s3: S3Client;
    readonly cb: CodeBuildClient;
    readonly cp: CodePipelineClient;
    readonly cfn: CloudFormationClient;
    readonly ecr: ECRClient;
    readonly secrets: SecretsManagerClient;
    readonly logs: CloudWatchLogsClient;
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
  /** The app's URL: the listener of the load balancer stand-in, on 127.0.0.1. */
  readonly url: string;
  /** How the service's tasks were rolled out. */
  readonly rollout: RolloutResult;
}

/** Pulls an image from the local registry, as a Fargate task pulls from ECR. */
async function pullImage(image: string): Promise<void> {
  const docker = (await connectDocker()).container.dockerode;
  const stream = await docker.pull(image);
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

/**
 * The service stack as ECS and the load balancer would run it once
 * CloudFormation has updated it: the task definition's image pulled from the
 * local registry, the proxy configured from the listener and target group,
 * and a rolling deployment of the tasks (ecs-service.ts).
 */
async function runService(
  input: LocalReleaseInput,
  say: (line: string) => void,
): Promise<{ url: string; image: string; result: RolloutResult }> {
  const { cfn, secrets } = input.clients;
  const service = await readServiceDefinition({ cfn, secrets }, input.prefix, input.accountId, input.region);
  try {
    await pullImage(service.container.image);
  } catch (error) {
    throw new StepError(
      `The service's image ${service.container.image} could not be pulled from the local registry: ${(error as Error).message}`,
      "Run the same command again; if the registry was removed, `bin/teardown --target local` first.",
      error,
    );
  }
  const lb = await ensureLoadBalancer({
    prefix: input.prefix,
    image: input.images.proxy,
    listener: service.listener,
    targetGroup: service.targetGroup,
    speedup: REHEARSAL_SPEEDUP,
  });
  const events: string[] = [];
  const secretValues: Record<string, string> = {};
  for (const [variable, arn] of Object.entries(service.container.secrets))
    secretValues[variable] = await secretValue(secrets, arn);
  const result = await rollOutService({
    prefix: input.prefix,
    service,
    secretValues,
    network: lb.network,
    speedup: REHEARSAL_SPEEDUP,
    // The task's memory limit as on Fargate. Its CPU share (0.25 vCPU) is not applied: beside the
    // builds on a small machine it would make start-up times, and so health checks, unpredictable.
    memoryMiB: service.memoryMiB,
    lb,
    say: (event) => {
      events.push(event);
      say(event);
    },
    ...(input.signal ? { signal: input.signal } : {}),
  }).finally(() => recordServiceEvents(input.clients.logs, input.prefix, events));
  return { url: lb.url, image: service.container.image, result };
}

export async function releaseLocally(input: LocalReleaseInput): Promise<LocalRelease> {
  const pipeline = await readHeldPipeline(input.clients, pipelineName(input.prefix));
  const serviceStack = stackName(input.prefix, "service");
  let deployed: Awaited<ReturnType<typeof runService>> | undefined;
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
      // CloudFormation waits for the ECS service to be stable before the stack update completes.
      async afterStackDeployed(stack, say) {
        if (stack !== serviceStack) return undefined;
        deployed = await runService(input, say);
        return deployed.result;
      },
    }),
    ...(input.onStages ? { onStages: input.onStages } : {}),
    ...(input.say ? { say: input.say } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  });
  if (!deployed)
    throw new StepError(
      `The pipeline's run succeeded but deployed no stack named ${serviceStack}.`,
      "Check the Deploy action's StackName in infra/pipeline.yaml.",
    );
  return {
    executionId: run.executionId,
    // The task definition's image, as the Deploy stage set the stack's ImageUri.
    image: deployed.image,
    url: deployed.url,
    rollout: deployed.result,
  };
}
