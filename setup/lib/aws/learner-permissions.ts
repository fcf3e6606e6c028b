// What the learner's own credentials must be allowed to do for a run, each
// with the one sentence an instructor needs when it is denied. Two sources:
// - the stacks the walk-through deploys itself (bucket, pipeline,
//   environment, monitoring): CloudFormation creates their resources with the caller's
//   credentials, so the caller needs what CloudFormation's resource handlers
//   call (their registry schemas, in cfn-handler-permissions.json; create,
//   read and delete: a run creates, re-runs read, teardown deletes);
// - every AWS call the walk-through, its checks and teardown make directly
//   (test/plan.test.ts reads them from the code and fails on one missing
//   here). The service stack is not the learner's: the pipeline's DeployRole
//   makes it, and the IAM proof covers that role.
import { readFileSync } from "node:fs";
import { ECS_SERVICE_LINKED_ROLE } from "./account-preflight.ts";
import {
  codeCommitRepositoryName,
  ecrRepositoryName,
  monitoringNames,
  pipelineName,
  stackName,
  type StackRole,
  templateFile,
} from "./naming.ts";
import { parseTemplate } from "./templates.ts";

export interface PermissionNeed {
  /** Why the run needs it, said when it is denied. */
  readonly why: string;
  readonly actions: readonly string[];
  /** The resource the calls act on, or "*" where no narrower one is known beforehand. */
  readonly resource: string;
  /** Condition keys the calls carry (e.g. iam:PassedToService). */
  readonly context?: Readonly<Record<string, string>>;
}

interface HandlerData {
  readonly types: Record<string, { readonly handlers: Partial<Record<string, readonly string[]>> }>;
}

const HANDLERS = (
  JSON.parse(readFileSync(new URL("./cfn-handler-permissions.json", import.meta.url), "utf8")) as HandlerData
).types;

/**
 * Types whose CloudFormation provider publishes no handler permissions (not
 * registry-based): what it calls, from the service's API for the resource.
 */
const UNPUBLISHED: Readonly<Record<string, readonly string[]>> = {
  "AWS::CodeBuild::Project": ["codebuild:CreateProject", "codebuild:BatchGetProjects", "codebuild:DeleteProject"],
};

/** An IAM action name as AWS spells them (the schemas also list a few S3 REST operation names). */
const IAM_ACTION = /^[a-z0-9-]+:[A-Za-z0-9]+$/;

/** The stacks the learner's credentials deploy (lesson 07's monitoring stack among them). */
const OWN_STACKS: readonly StackRole[] = ["bucket", "pipeline", "environment", "monitoring"];

function stackResourceNeeds(prefix: string): PermissionNeed[] {
  const needs: PermissionNeed[] = [];
  for (const role of OWN_STACKS) {
    const template = parseTemplate(readFileSync(templateFile(role), "utf8"));
    for (const type of [...new Set(Object.values(template.Resources).map((r) => r.Type))].sort()) {
      const handlers = HANDLERS[type]?.handlers ?? {};
      const actions = [
        ...new Set([
          ...(UNPUBLISHED[type] ?? []),
          ...["create", "read", "delete"].flatMap((phase) => handlers[phase] ?? []),
        ]),
      ]
        .filter((a) => IAM_ACTION.test(a))
        // Passing roles is its own need below, with the service it goes to.
        .filter((a) => a !== "iam:PassRole")
        .sort();
      if (actions.length > 0)
        needs.push({
          why: `CloudFormation creates and deletes the ${type} resources of stack ${stackName(prefix, role)} with your credentials`,
          actions,
          resource: "*",
        });
    }
  }
  return needs;
}

/** Everything the run's own credentials must be allowed, for this prefix, account and region. */
export function learnerPermissions(prefix: string, accountId: string, region: string): PermissionNeed[] {
  const arn = (service: string, rest: string) => `arn:aws:${service}:${region}:${accountId}:${rest}`;
  const bucket = `${prefix}-artifacts-${accountId}-${region}`;
  const pipelineRoles = `arn:aws:iam::${accountId}:role/${stackName(prefix, "pipeline")}-*`;
  const passTo = (service: string, what: string): PermissionNeed => ({
    why: `the pipeline stack hands ${what} its role (iam:PassRole to ${service})`,
    actions: ["iam:PassRole"],
    resource: pipelineRoles,
    context: { "iam:PassedToService": service },
  });
  return [
    {
      why: "every step deploys its CloudFormation stack through a change set, and teardown deletes the stacks",
      actions: [
        "cloudformation:CreateChangeSet",
        "cloudformation:DeleteChangeSet",
        "cloudformation:DeleteStack",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DescribeStackResources",
        "cloudformation:DescribeStacks",
        "cloudformation:ExecuteChangeSet",
      ],
      resource: arn("cloudformation", `stack/${prefix}-*/*`),
    },
    {
      why: "the templates are checked before anything is created, and stacks' exports are read",
      actions: ["cloudformation:ListExports", "cloudformation:ValidateTemplate"],
      resource: "*",
    },
    ...stackResourceNeeds(prefix),
    passTo("codebuild.amazonaws.com", "its two CodeBuild projects"),
    passTo("codepipeline.amazonaws.com", "the pipeline"),
    passTo("events.amazonaws.com", "the EventBridge rule that starts the pipeline"),
    {
      why: "a new account lacks ECS's service-linked role: the run creates it once (it is AWS's, kept by teardown)",
      actions: ["iam:CreateServiceLinkedRole", "iam:GetRole"],
      resource: `arn:aws:iam::${accountId}:role/aws-service-role/ecs.amazonaws.com/${ECS_SERVICE_LINKED_ROLE}`,
      context: { "iam:AWSServiceName": "ecs.amazonaws.com" },
    },
    {
      why: "the account is checked first: quotas, VPCs, addresses and the availability zones to use",
      actions: [
        "ec2:DescribeAddresses",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeVpcs",
        "servicequotas:ListAWSDefaultServiceQuotas",
        "servicequotas:ListServiceQuotas",
      ],
      resource: "*",
    },
    {
      why: "step 02 seeds the app into a CodeCommit repository (where the account cannot, it uses the S3 source)",
      actions: [
        "codecommit:CreateCommit",
        "codecommit:CreateRepository",
        "codecommit:DeleteRepository",
        "codecommit:GetBranch",
        "codecommit:GetFolder",
        "codecommit:GetRepository",
        "codecommit:ListTagsForResource",
        "codecommit:TagResource",
      ],
      resource: arn("codecommit", codeCommitRepositoryName(prefix)),
    },
    {
      why: "step 02 puts source.zip in the artifact bucket, and teardown empties it",
      actions: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:PutObject"],
      resource: `arn:aws:s3:::${bucket}/*`,
    },
    {
      why: "teardown checks the bucket is this run's and lists every object version before emptying it",
      actions: ["s3:DeleteBucket", "s3:GetBucketTagging", "s3:ListBucket", "s3:ListBucketVersions"],
      resource: `arn:aws:s3:::${bucket}`,
    },
    {
      why: "steps 04-06 follow each release through the pipeline (and restart a failed run), teardown stops it",
      actions: [
        "codepipeline:GetPipelineExecution",
        "codepipeline:GetPipelineState",
        "codepipeline:ListActionExecutions",
        "codepipeline:ListPipelineExecutions",
        "codepipeline:StartPipelineExecution",
        "codepipeline:StopPipelineExecution",
      ],
      resource: arn("codepipeline", pipelineName(prefix)),
    },
    {
      why: "a failed build's log is shown, and teardown stops the builds still running",
      actions: ["codebuild:BatchGetBuilds", "codebuild:ListBuildsForProject", "codebuild:StopBuild"],
      resource: arn("codebuild", `project/${prefix}-*`),
    },
    {
      why: "a failed test run's failed test cases are shown from its report",
      // CodeBuild names a buildspec's report group "<project>-<report>": every project is "<prefix>-…".
      actions: ["codebuild:DescribeTestCases"],
      resource: arn("codebuild", `report-group/${prefix}-*`),
    },
    {
      why: "teardown deletes the test report groups CodeBuild made",
      actions: ["codebuild:DeleteReportGroup", "codebuild:ListReportGroups"],
      resource: "*",
    },
    {
      why: "a failed build's last log lines are shown, and teardown proves no log group is left",
      actions: ["logs:DescribeLogGroups", "logs:GetLogEvents"],
      resource: "*",
    },
    {
      why: "lesson 07 follows its alarms, and teardown's last check asks whether they are really gone",
      actions: ["cloudwatch:DescribeAlarms"],
      resource: arn("cloudwatch", `alarm:${prefix}-*`),
    },
    {
      why: "lesson 07 draws its dashboard from the metric data",
      actions: ["cloudwatch:GetMetricData"],
      // GetMetricData names no metric resource IAM can scope to (only optional metric datasets).
      resource: "*",
    },
    {
      why: "teardown's last check asks whether lesson 07's topic is really gone",
      actions: ["sns:GetTopicAttributes"],
      resource: arn("sns", monitoringNames(prefix).topic),
    },
    {
      why: "lesson 07 reads its inbox, and teardown's last check asks whether it is really gone",
      actions: ["sqs:GetQueueUrl", "sqs:ReceiveMessage"],
      resource: arn("sqs", monitoringNames(prefix).inbox),
    },
    {
      why: "teardown disables the trigger rule first, so no release starts behind it",
      actions: ["events:DescribeRule", "events:DisableRule"],
      resource: arn("events", `rule/${prefix}-*`),
    },
    {
      why: "teardown checks the image repository is this run's and empties it",
      actions: ["ecr:BatchDeleteImage", "ecr:DescribeRepositories", "ecr:ListImages", "ecr:ListTagsForResource"],
      resource: arn("ecr", `repository/${ecrRepositoryName(prefix)}`),
    },
    {
      why: "the service's events are read (lesson 06), and teardown removes its inactive task definitions",
      actions: [
        "ecs:DeleteTaskDefinitions",
        "ecs:DescribeClusters",
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions",
      ],
      resource: "*",
    },
    {
      why: "teardown deletes the service's secret for good (Secrets Manager would keep it for a week)",
      actions: ["secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret", "secretsmanager:ListSecrets"],
      resource: "*",
    },
    {
      why: "teardown proves nothing tagged with the prefix is left, asking each service about what the Tagging API lists",
      actions: [
        "ec2:DescribeInternetGateways",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
        "tag:GetResources",
      ],
      resource: "*",
    },
  ];
}
