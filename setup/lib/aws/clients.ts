// The one place that constructs AWS SDK clients. Every client in the project
// comes from makeClient, so endpoint, region, credentials and retry behaviour
// are decided here and nowhere else.
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
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
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { STSClient } from "@aws-sdk/client-sts";
import type { AwsSettings } from "../config.ts";

/** What every SDK v3 client constructor accepts that this factory sets. */
export interface CommonClientConfig {
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

/** Adjusts a client made for an endpoint that is not AWS (the emulator: setup/lib/local/emulator/clients.ts). */
export type ClientAdapter = (client: object) => void;

/** Builds an SDK v3 client, e.g. `makeClient(S3Client, config.aws)`. */
export function makeClient<C extends object>(
  Client: new (config: CommonClientConfig) => C,
  aws: AwsSettings,
  adapt?: ClientAdapter,
): C {
  const client = new Client(clientConfig(aws));
  adapt?.(client);
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
  readonly cw: CloudWatchClient;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
}

export function awsClients(aws: AwsSettings, adapt?: ClientAdapter): AwsClients {
  const cache = new Map<string, unknown>();
  const lazy = <C extends object>(key: string, Client: new (config: CommonClientConfig) => C): C => {
    if (!cache.has(key)) cache.set(key, makeClient(Client, aws, adapt));
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
    get cw() {
      return lazy("cw", CloudWatchClient);
    },
    get sns() {
      return lazy("sns", SNSClient);
    },
    get sqs() {
      return lazy("sqs", SQSClient);
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
