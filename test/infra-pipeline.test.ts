// pipeline.yaml deployed to the emulator for both source providers. The
// emulator skips AWS::CodeBuild::Project and AWS::CodePipeline::Pipeline (it
// has no CloudFormation support for them), so what is checked here is
// everything else: the ECR repository, the log groups, the roles and the
// EventBridge trigger. The pipeline's shape is checked as written in
// test/templates.test.ts.
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { IAMClient, ListPoliciesCommand, ListRolesCommand } from "@aws-sdk/client-iam";
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from "@aws-sdk/client-eventbridge";
import { beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import { prefixTags, STACK_CAPABILITIES, stackName, templateFile } from "../setup/lib/aws/naming.ts";
import { deleteStack, deployStack, describeStack, outputsOf } from "../setup/lib/aws/stacks.ts";
import { directOperations } from "../setup/lib/local/cloudformation/direct.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";

const fixture = useEmulator();
// The emulator records no outputs or exports for change sets (see setup/lib/local/cloudformation/direct.ts).
const fast = { pollSeconds: 1, maxWaitSeconds: 60, operations: directOperations };
let cfn: CloudFormationClient;
let bucket: string;

beforeAll(async () => {
  cfn = emulatorClient(CloudFormationClient, fixture.config.aws);
  const result = await deployStack(
    cfn,
    {
      name: "lab-pipe-bucket",
      templateFile: templateFile("bucket"),
      parameters: { Prefix: "lab-pipe" },
      tags: prefixTags("lab-pipe"),
    },
    fast,
  );
  bucket = result.outputs.BucketName as string;
});

describe.each([
  { provider: "CodeCommit", prefix: "lab-cc", rule: "StartOnPushToBranch", source: "aws.codecommit" },
  { provider: "S3", prefix: "lab-s3", rule: "StartOnNewSourceZip", source: "aws.s3" },
])("pipeline.yaml with SourceProvider=$provider", ({ provider, prefix, source }) => {
  it("deploys, creating the image repository, build log groups, roles and the trigger", async () => {
    const result = await deployStack(
      cfn,
      {
        name: stackName(prefix, "pipeline"),
        templateFile: templateFile("pipeline"),
        parameters: {
          Prefix: prefix,
          ArtifactBucketName: bucket,
          SourceProvider: provider,
          RepositoryName: `${prefix}-app`,
        },
        tags: prefixTags(prefix),
        capabilities: STACK_CAPABILITIES.pipeline,
      },
      fast,
    );
    expect(result.outputs).toMatchObject({
      PipelineName: `${prefix}-pipeline`,
      RepositoryName: `${prefix}-app`,
      RepositoryUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${prefix}-app`,
      SourceProvider: provider,
    });

    const ecr = emulatorClient(ECRClient, fixture.config.aws);
    const repo = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [`${prefix}-app`] })))
      .repositories?.[0];
    // Scan-on-push and the lifecycle policy are not applied by the emulator's CloudFormation; checked as written.
    expect(repo).toMatchObject({ imageTagMutability: "IMMUTABLE" });

    const logs = emulatorClient(CloudWatchLogsClient, fixture.config.aws);
    const groups =
      (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/aws/codebuild/${prefix}-` }))).logGroups ??
      [];
    expect(groups.map((g) => [g.logGroupName, g.retentionInDays]).sort()).toEqual([
      [`/aws/codebuild/${prefix}-build`, 3],
      [`/aws/codebuild/${prefix}-test`, 3],
    ]);

    const iam = emulatorClient(IAMClient, fixture.config.aws);
    const roles = ((await iam.send(new ListRolesCommand({}))).Roles ?? []).filter((r) =>
      r.RoleName?.startsWith(`${prefix}-pipeline-`),
    );
    const trusted = roles
      .map((r) => decodeURIComponent(r.AssumeRolePolicyDocument ?? "").match(/"([a-z]+)\.amazonaws\.com"/)?.[1])
      .sort();
    expect(trusted).toEqual(["cloudformation", "codebuild", "codebuild", "codepipeline", "events"]);
    // The boundary every role of the service stack must carry.
    const policies = (await iam.send(new ListPoliciesCommand({ Scope: "Local" }))).Policies ?? [];
    expect(policies.map((p) => p.PolicyName)).toContain(`${prefix}-service-boundary`);
  });

  it(`starts the pipeline from ${source} events only`, async () => {
    const events = emulatorClient(EventBridgeClient, fixture.config.aws);
    const rules = ((await events.send(new ListRulesCommand({}))).Rules ?? []).filter(
      (r) => r.Name === `${prefix}-start-pipeline`,
    );
    expect(rules).toHaveLength(1);
    // Teardown finds the rule to disable through this output.
    const outputs = outputsOf(await describeStack(cfn, stackName(prefix, "pipeline")));
    expect(outputs.TriggerRuleName).toBe(`${prefix}-start-pipeline`);
    const pattern = JSON.parse(rules[0]?.EventPattern ?? "{}") as { source: string[]; detail: Record<string, unknown> };
    expect(pattern.source).toEqual([source]);
    if (provider === "CodeCommit")
      expect(pattern.detail).toMatchObject({ referenceType: ["branch"], referenceName: ["main"] });
    else expect(pattern.detail).toMatchObject({ bucket: { name: [bucket] }, object: { key: ["source.zip"] } });
    const targets = (await events.send(new ListTargetsByRuleCommand({ Rule: rules[0]?.Name }))).Targets ?? [];
    expect(targets).toEqual([
      expect.objectContaining({ Arn: `arn:aws:codepipeline:us-east-1:123456789012:${prefix}-pipeline` }),
    ]);
  });

  it("deletes, leaving no stack, repository or log group", async () => {
    expect(await deleteStack(cfn, stackName(prefix, "pipeline"), fast)).toBe(true);
    expect(await describeStack(cfn, stackName(prefix, "pipeline"))).toBeUndefined();
    const ecr = emulatorClient(ECRClient, fixture.config.aws);
    await expect(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [`${prefix}-app`] }))).rejects.toThrow(
      /not found|does not exist/i,
    );
    const logs = emulatorClient(CloudWatchLogsClient, fixture.config.aws);
    expect(
      (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/aws/codebuild/${prefix}-` }))).logGroups,
    ).toEqual([]);
  });
});

describe("the bucket stack under the pipelines", () => {
  it("deletes once they are gone", async () => {
    expect(await deleteStack(cfn, "lab-pipe-bucket", fast)).toBe(true);
  });
});
