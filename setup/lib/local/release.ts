// A local release: the pipeline the emulator holds, run by the stand-ins
// (codepipeline/) for the seeded revision. Its Deploy stage deploys the
// service stack through the emulator with the resource providers that finish
// what the emulator's CloudFormation skips: the stack's secret
// (secretsmanager/) and the service itself (ecs/: tasks rolled out behind the
// load balancer stand-in, whose listener on 127.0.0.1 is the app's URL).
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { CodeBuildClient } from "@aws-sdk/client-codebuild";
import type { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { pipelineName, stackName } from "../aws/naming.ts";
import type { DeployOptions } from "../aws/stacks.ts";
import { StepError } from "../errors.ts";
import type { StageLine } from "../ui/pipeline-progress.ts";
import { localProviders } from "./codepipeline/actions/index.ts";
import { readHeldPipeline } from "./codepipeline/pipelines.ts";
import { runPipeline } from "./codepipeline/run.ts";
import { ecsServiceProvider } from "./ecs/provider.ts";
import type { RolloutResult } from "./ecs/service.ts";
import { secretProvider } from "./secretsmanager/secrets.ts";

export interface LocalReleaseInput {
  readonly prefix: string;
  readonly region: string;
  readonly accountId: string;
  readonly endpoint: string;
  readonly images: { readonly build: string; readonly node: string; readonly proxy: string };
  /** The local registry's address (ecr/registry.ts). */
  readonly registry: string;
  readonly clients: {
    readonly s3: S3Client;
    readonly cb: CodeBuildClient;
    readonly cp: CodePipelineClient;
    readonly cfn: CloudFormationClient;
    readonly ecr: ECRClient;
    readonly secrets: SecretsManagerClient;
    readonly logs: CloudWatchLogsClient;
    readonly elb: ElasticLoadBalancingV2Client;
    readonly cw: CloudWatchClient;
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

export async function releaseLocally(input: LocalReleaseInput): Promise<LocalRelease> {
  const pipeline = await readHeldPipeline(input.clients, pipelineName(input.prefix));
  const service = ecsServiceProvider({
    prefix: input.prefix,
    region: input.region,
    accountId: input.accountId,
    proxyImage: input.images.proxy,
    clients: input.clients,
  });
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
      // The secret first: the service's tasks read it when they start.
      providers: [secretProvider(input.clients.secrets, input.prefix), service],
      ...(input.onBuildLine ? { onBuildLine: input.onBuildLine } : {}),
    }),
    ...(input.onStages ? { onStages: input.onStages } : {}),
    ...(input.say ? { say: input.say } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  });
  const deployed = service.last;
  if (!deployed)
    throw new StepError(
      `The pipeline's run succeeded but deployed no ECS service (the stack ${stackName(input.prefix, "service")}).`,
      "Check the Deploy action's StackName and TemplatePath in infra/pipeline.yaml.",
    );
  return {
    executionId: run.executionId,
    // The task definition's image, as the Deploy stage set the stack's ImageUri.
    image: deployed.image,
    url: deployed.url,
    rollout: deployed.result,
  };
}
