// Teardown's proof on AWS. The Resource Groups Tagging API keeps listing
// resources for a while after they are deleted (listener rules among them),
// and deregistered task definitions stay tagged: its answer alone is never
// taken as "still exists". Each ARN it returns is asked of its own service;
// only what that service still reports counts, each with the command that
// removes it.
import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { BatchGetProjectsCommand } from "@aws-sdk/client-codebuild";
import { GetRepositoryCommand } from "@aws-sdk/client-codecommit";
import { GetPipelineCommand } from "@aws-sdk/client-codepipeline";
import {
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
} from "@aws-sdk/client-ec2";
import { DescribeRepositoriesCommand } from "@aws-sdk/client-ecr";
import { DescribeClustersCommand, DescribeServicesCommand, DescribeTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeRuleCommand } from "@aws-sdk/client-eventbridge";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { GetResourcesCommand } from "@aws-sdk/client-resource-groups-tagging-api";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { GetTopicAttributesCommand } from "@aws-sdk/client-sns";
import { GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { createWaiter, WaiterState } from "@smithy/util-waiter";
import type { AwsClients } from "./clients.ts";
import { PREFIX_TAG } from "./naming.ts";

/** Every resource the Tagging API lists with the prefix's tag, by ARN. */
async function taggedArns(tagging: AwsClients["tagging"], prefix: string): Promise<string[]> {
  const arns: string[] = [];
  let token: string | undefined;
  do {
    const page = await tagging.send(
      new GetResourcesCommand({
        TagFilters: [{ Key: PREFIX_TAG, Values: [prefix] }],
        ...(token ? { PaginationToken: token } : {}),
      }),
    );
    for (const r of page.ResourceTagMappingList ?? []) if (r.ResourceARN) arns.push(r.ResourceARN);
    token = page.PaginationToken || undefined;
  } while (token);
  return arns;
}

/** The error names each service answers "no such thing" with. */
const NOT_FOUND =
  /NotFound|NoSuch|DoesNotExist|ResourceNotFound|NonExistentQueue|InvalidVpcID|InvalidSubnetID|InvalidGroup|InvalidInternetGatewayID|InvalidRouteTableID/;

interface Kind {
  /** Whether the service still reports the resource (as live: deleted-but-listed states count as gone). */
  exists(aws: AwsClients, arn: string, id: string): Promise<boolean>;
  /** The command that removes it. */
  remove(arn: string, id: string, region: string): string;
}

const last = (id: string) => id.split("/").at(-1) as string;

/** Keyed by "service:resource-type" as it appears in the ARN (arn:aws:SERVICE:region:account:TYPE/…). */
const KINDS: Record<string, Kind> = {
  "cloudformation:stack": {
    async exists(aws, arn) {
      const { Stacks } = await aws.cfn.send(new DescribeStacksCommand({ StackName: arn }));
      return (Stacks ?? []).some((s) => s.StackStatus !== "DELETE_COMPLETE");
    },
    remove: (_arn, id, region) => `aws cloudformation delete-stack --stack-name ${id.split("/")[1]} --region ${region}`,
  },
  "ecs:task-definition": {
    async exists(aws, arn) {
      const { taskDefinition } = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
      return taskDefinition?.status === "ACTIVE" || taskDefinition?.status === "INACTIVE";
    },
    remove: (arn, _id, region) => `aws ecs delete-task-definitions --task-definitions ${arn} --region ${region}`,
  },
  "ecs:service": {
    async exists(aws, arn, id) {
      const [, cluster] = id.split("/");
      const { services } = await aws.ecs.send(new DescribeServicesCommand({ cluster, services: [arn] }));
      return (services ?? []).some((s) => s.status !== "INACTIVE");
    },
    remove: (arn, id, region) =>
      `aws ecs delete-service --cluster ${id.split("/")[1]} --service ${arn} --force --region ${region}`,
  },
  "ecs:cluster": {
    async exists(aws, arn) {
      const { clusters } = await aws.ecs.send(new DescribeClustersCommand({ clusters: [arn] }));
      return (clusters ?? []).some((c) => c.status !== "INACTIVE");
    },
    remove: (arn, _id, region) => `aws ecs delete-cluster --cluster ${arn} --region ${region}`,
  },
  "elasticloadbalancing:loadbalancer": {
    async exists(aws, arn) {
      const { LoadBalancers } = await aws.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }));
      return (LoadBalancers ?? []).length > 0;
    },
    remove: (arn, _id, region) => `aws elbv2 delete-load-balancer --load-balancer-arn ${arn} --region ${region}`,
  },
  "elasticloadbalancing:targetgroup": {
    async exists(aws, arn) {
      const { TargetGroups } = await aws.elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }));
      return (TargetGroups ?? []).length > 0;
    },
    remove: (arn, _id, region) => `aws elbv2 delete-target-group --target-group-arn ${arn} --region ${region}`,
  },
  "elasticloadbalancing:listener": {
    async exists(aws, arn) {
      const { Listeners } = await aws.elb.send(new DescribeListenersCommand({ ListenerArns: [arn] }));
      return (Listeners ?? []).length > 0;
    },
    remove: (arn, _id, region) => `aws elbv2 delete-listener --listener-arn ${arn} --region ${region}`,
  },
  "elasticloadbalancing:listener-rule": {
    async exists(aws, arn) {
      const { Rules } = await aws.elb.send(new DescribeRulesCommand({ RuleArns: [arn] }));
      return (Rules ?? []).length > 0;
    },
    remove: (arn, _id, region) => `aws elbv2 delete-rule --rule-arn ${arn} --region ${region}`,
  },
  "s3:": {
    async exists(aws, _arn, id) {
      await aws.s3.send(new HeadBucketCommand({ Bucket: id }));
      return true;
    },
    remove: (_arn, id) => `aws s3 rb s3://${id} --force`,
  },
  "ecr:repository": {
    async exists(aws, _arn, id) {
      await aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [id.slice("repository/".length)] }));
      return true;
    },
    remove: (_arn, id, region) =>
      `aws ecr delete-repository --repository-name ${id.slice("repository/".length)} --force --region ${region}`,
  },
  "logs:log-group": {
    async exists(aws, _arn, id) {
      const name = id.slice("log-group:".length).replace(/:\*$/, "");
      const { logGroups } = await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
      return (logGroups ?? []).some((g) => g.logGroupName === name);
    },
    remove: (_arn, id, region) =>
      `aws logs delete-log-group --log-group-name ${id.slice("log-group:".length).replace(/:\*$/, "")} --region ${region}`,
  },
  "secretsmanager:secret": {
    async exists(aws, arn) {
      const secret = await aws.secrets.send(new DescribeSecretCommand({ SecretId: arn }));
      return secret.DeletedDate === undefined;
    },
    remove: (arn, _id, region) =>
      `aws secretsmanager delete-secret --secret-id ${arn} --force-delete-without-recovery --region ${region}`,
  },
  "codecommit:": {
    async exists(aws, _arn, id) {
      await aws.cc.send(new GetRepositoryCommand({ repositoryName: id }));
      return true;
    },
    remove: (_arn, id, region) => `aws codecommit delete-repository --repository-name ${id} --region ${region}`,
  },
  "codepipeline:": {
    async exists(aws, _arn, id) {
      await aws.cp.send(new GetPipelineCommand({ name: id }));
      return true;
    },
    remove: (_arn, id, region) => `aws codepipeline delete-pipeline --name ${id} --region ${region}`,
  },
  "codebuild:project": {
    async exists(aws, _arn, id) {
      const { projects } = await aws.cb.send(new BatchGetProjectsCommand({ names: [last(id)] }));
      return (projects ?? []).length > 0;
    },
    remove: (_arn, id, region) => `aws codebuild delete-project --name ${last(id)} --region ${region}`,
  },
  "events:rule": {
    async exists(aws, _arn, id) {
      await aws.events.send(new DescribeRuleCommand({ Name: last(id) }));
      return true;
    },
    remove: (_arn, id, region) =>
      `aws events remove-targets --rule ${last(id)} --ids pipeline --region ${region} && aws events delete-rule --name ${last(id)} --region ${region}`,
  },
  // Lesson 07's monitoring stack. (Its dashboard carries no tags: CloudFormation deletes it with the stack.)
  "cloudwatch:alarm": {
    async exists(aws, _arn, id) {
      const name = id.slice("alarm:".length);
      return ((await aws.cw.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms ?? []).length > 0;
    },
    remove: (_arn, id, region) =>
      `aws cloudwatch delete-alarms --alarm-names ${id.slice("alarm:".length)} --region ${region}`,
  },
  "sns:": {
    async exists(aws, arn) {
      await aws.sns.send(new GetTopicAttributesCommand({ TopicArn: arn }));
      return true;
    },
    remove: (arn, _id, region) => `aws sns delete-topic --topic-arn ${arn} --region ${region}`,
  },
  "sqs:": {
    async exists(aws, _arn, id) {
      await aws.sqs.send(new GetQueueUrlCommand({ QueueName: id }));
      return true;
    },
    remove: (_arn, id, region) =>
      `aws sqs delete-queue --queue-url "$(aws sqs get-queue-url --queue-name ${id} --region ${region} --query QueueUrl --output text)" --region ${region}`,
  },
  "iam:role": {
    async exists(aws, _arn, id) {
      await aws.iam.send(new GetRoleCommand({ RoleName: last(id) }));
      return true;
    },
    remove: (_arn, id) => `aws iam delete-role --role-name ${last(id)}  (after removing its policies)`,
  },
  "ec2:vpc": ec2Kind((aws, id) => aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [id] })), "delete-vpc --vpc-id"),
  "ec2:subnet": ec2Kind(
    (aws, id) => aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [id] })),
    "delete-subnet --subnet-id",
  ),
  "ec2:security-group": ec2Kind(
    (aws, id) => aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] })),
    "delete-security-group --group-id",
  ),
  "ec2:internet-gateway": ec2Kind(
    (aws, id) => aws.ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [id] })),
    "delete-internet-gateway --internet-gateway-id",
  ),
  "ec2:route-table": ec2Kind(
    (aws, id) => aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [id] })),
    "delete-route-table --route-table-id",
  ),
};

function ec2Kind(describe: (aws: AwsClients, id: string) => Promise<unknown>, command: string): Kind {
  return {
    async exists(aws, _arn, id) {
      await describe(aws, last(id));
      return true;
    },
    remove: (_arn, id, region) => `aws ec2 ${command} ${last(id)} --region ${region}`,
  };
}

/** "service:type" and the resource part of an ARN. */
function parse(arn: string): { key: string; id: string } {
  const [, , service = "", , , ...rest] = arn.split(":");
  const resource = rest.join(":");
  const type = /^([a-z-]+)[/:]/.exec(resource)?.[1] ?? "";
  const key = KINDS[`${service}:${type}`] ? `${service}:${type}` : `${service}:`;
  return { key, id: resource };
}

export interface Leftover {
  readonly arn: string;
  /** The command that removes it, or where to look when the kind is not known here. */
  readonly remove: string;
}

/** Whether one ARN is still there, per its own service. Unknown kinds and unexpected errors count as there. */
export async function stillThere(aws: AwsClients, arn: string): Promise<boolean> {
  const { key, id } = parse(arn);
  const kind = KINDS[key];
  if (!kind) return true;
  try {
    return await kind.exists(aws, arn, id);
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    if (NOT_FOUND.test(e.name) || e.$metadata?.httpStatusCode === 404) return false;
    if (/does not exist|not found|cannot be found/i.test(e.message)) return false;
    throw error;
  }
}

function removeCommand(arn: string, region: string): string {
  const { key, id } = parse(arn);
  const kind = KINDS[key];
  return kind
    ? kind.remove(arn, id, region)
    : `delete it in the console (Resource Groups & Tag Editor finds it): ${arn}`;
}

/**
 * What is really left: the Tagging API's list, each ARN re-asked of its
 * service, re-asked again (every few seconds, up to `maxWaitSeconds`) while
 * anything still answers, because deletions settle for a while after
 * CloudFormation reports them done.
 */
export async function leftovers(
  aws: AwsClients,
  prefix: string,
  region: string,
  options: { maxWaitSeconds?: number; minDelaySeconds?: number; signal?: AbortSignal } = {},
): Promise<Leftover[]> {
  let remaining = await taggedArns(aws.tagging, prefix);
  const check = async () => {
    const alive = await Promise.all(remaining.map(async (arn) => ((await stillThere(aws, arn)) ? arn : undefined)));
    remaining = alive.filter((a): a is string => a !== undefined);
    return { state: remaining.length === 0 ? WaiterState.SUCCESS : WaiterState.RETRY };
  };
  if (remaining.length > 0) {
    await createWaiter(
      {
        client: undefined,
        maxWaitTime: options.maxWaitSeconds ?? 60,
        minDelay: options.minDelaySeconds ?? 5,
        maxDelay: Math.max(options.minDelaySeconds ?? 5, 15),
        ...(options.signal ? { abortSignal: options.signal } : {}),
      },
      undefined,
      check,
    );
  }
  return remaining.map((arn) => ({ arn, remove: removeCommand(arn, region) }));
}
