// The one place that constructs AWS SDK clients. Every client in the project
// comes from makeClient, so endpoint, region, credentials and retry behaviour
// are decided here and nowhere else.
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { CodeBuildClient } from "@aws-sdk/client-codebuild";
import { CodeCommitClient } from "@aws-sdk/client-codecommit";
import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { ECSClient } from "@aws-sdk/client-ecs";
import { IAMClient } from "@aws-sdk/client-iam";
import { ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { STSClient } from "@aws-sdk/client-sts";
import { Readable } from "node:stream";
import { text as readText } from "node:stream/consumers";
import type { FinalizeHandler, FinalizeHandlerArguments, HttpResponse, MiddlewareStack } from "@smithy/types";
import type { AwsSettings } from "../config.ts";
import { refuseMissingCapabilities } from "../local/cloudformation/capabilities.ts";

/** What every SDK v3 client constructor accepts that this factory sets. */
interface CommonClientConfig {
  region: string;
  endpoint?: string;
  profile?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** S3 only: bucket in the path, since emulator hosts have no bucket subdomains. */
  forcePathStyle?: boolean;
  /** SDK-managed retries with backoff; throttling on busy accounts is normal. */
  maxAttempts?: number;
}

/**
 * Credentials sent to an emulator. An emulator accepts any; using fixed ones
 * means a learner's real credentials are never sent to a local endpoint.
 */
const EMULATOR_CREDENTIALS = Object.freeze({ accessKeyId: "testing", secretAccessKey: "testing" });

export function clientConfig(aws: AwsSettings): CommonClientConfig {
  if (aws.endpoint !== undefined) {
    return {
      region: aws.region,
      endpoint: aws.endpoint,
      credentials: { ...EMULATOR_CREDENTIALS },
      forcePathStyle: true,
      maxAttempts: 3,
    };
  }
  return {
    region: aws.region,
    ...(aws.profile !== undefined ? { profile: aws.profile } : {}),
    maxAttempts: 5,
  };
}

/** An ISO-8601 time as a JSON string value: "2026-11-22T05:16:16.386Z". */
const ISO_TIME_VALUE = /"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"/g;

/**
 * The emulator answers some JSON-protocol calls (CodePipeline's GetPipeline,
 * ListPipelines) with timestamps as ISO strings where AWS sends epoch
 * seconds, which the SDK refuses to read. This rewrites them in the raw
 * response, before the SDK parses it; only for an emulator endpoint.
 */
function readEmulatorTimestamps(client: unknown): void {
  const stack = (client as { middlewareStack?: MiddlewareStack<object, object> }).middlewareStack;
  stack?.addRelativeTo(
    (next: FinalizeHandler<object, object>) => async (args: FinalizeHandlerArguments<object>) => {
      const result = await next(args);
      const response = result.response as HttpResponse;
      // The emulator labels these answers text/html; the request says which protocol it speaks.
      const request = args.request as { headers?: Record<string, string> };
      if (!(request.headers?.["content-type"] ?? "").includes("json") || !response.body) return result;
      const text = await readText(response.body as Readable);
      const fixed = text.replace(ISO_TIME_VALUE, (match, iso: string) => {
        const epoch = Date.parse(iso);
        return Number.isNaN(epoch) ? match : String(epoch / 1000);
      });
      response.body = Readable.from([Buffer.from(fixed)]);
      return result;
    },
    { relation: "after", toMiddleware: "deserializerMiddleware", name: "readEmulatorTimestamps" },
  );
}

/** Builds an SDK v3 client, e.g. `makeClient(S3Client, config.aws)`. */
export function makeClient<C>(Client: new (config: CommonClientConfig) => C, aws: AwsSettings): C {
  const client = new Client(clientConfig(aws));
  if (aws.endpoint !== undefined) {
    readEmulatorTimestamps(client);
    // The emulator creates what AWS refuses for unacknowledged IAM resources: refused here as AWS does.
    if (client instanceof CloudFormationClient) refuseMissingCapabilities(client);
  }
  return client;
}

/**
 * Every client a run needs, made on first use, all through makeClient. One
 * set per Config, so the emulator's endpoint or the learner's region applies
 * to all of them.
 */
export interface AwsClients {
  readonly cfn: CloudFormationClient;
  readonly s3: S3Client;
  readonly ecr: ECRClient;
  readonly ec2: EC2Client;
  readonly cc: CodeCommitClient;
  readonly cp: CodePipelineClient;
  readonly cb: CodeBuildClient;
  readonly logs: CloudWatchLogsClient;
  readonly sts: STSClient;
  readonly tagging: ResourceGroupsTaggingAPIClient;
  readonly secrets: SecretsManagerClient;
  readonly iam: IAMClient;
  readonly quotas: ServiceQuotasClient;
  readonly ecs: ECSClient;
  readonly events: EventBridgeClient;
  readonly elb: ElasticLoadBalancingV2Client;
}

export function awsClients(aws: AwsSettings): AwsClients {
  const cache = new Map<string, unknown>();
  const lazy = <C>(key: string, Client: new (config: CommonClientConfig) => C): C => {
    if (!cache.has(key)) cache.set(key, makeClient(Client, aws));
    return cache.get(key) as C;
  };
  return {
    get cfn() {
      return lazy("cfn", CloudFormationClient);
    },
    get s3() {
      return lazy("s3", S3Client);
    },
    get ecr() {
      return lazy("ecr", ECRClient);
    },
    get ec2() {
      return lazy("ec2", EC2Client);
    },
    get cc() {
      return lazy("cc", CodeCommitClient);
    },
    get cp() {
      return lazy("cp", CodePipelineClient);
    },
    get cb() {
      return lazy("cb", CodeBuildClient);
    },
    get logs() {
      return lazy("logs", CloudWatchLogsClient);
    },
    get sts() {
      return lazy("sts", STSClient);
    },
    get tagging() {
      return lazy("tagging", ResourceGroupsTaggingAPIClient);
    },
    get secrets() {
      return lazy("secrets", SecretsManagerClient);
    },
    get iam() {
      return lazy("iam", IAMClient);
    },
    get quotas() {
      return lazy("quotas", ServiceQuotasClient);
    },
    get ecs() {
      return lazy("ecs", ECSClient);
    },
    get events() {
      return lazy("events", EventBridgeClient);
    },
    get elb() {
      return lazy("elb", ElasticLoadBalancingV2Client);
    },
  };
}
