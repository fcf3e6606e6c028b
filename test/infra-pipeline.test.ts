// pipeline.yaml deployed to the emulator for both source providers. The
// emulator skips AWS::CodeBuild::Project and AWS::CodePipeline::Pipeline (it
// has no CloudFormation support for them), so what is checked here is
// everything else: the ECR repository, the log groups, the roles and the
// EventBridge trigger. The pipeline's shape is checked as written in
// test/templates.test.ts.
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { IAMClient, ListPoliciesCommand, ListRolesCommand } from "@aws-sdk/client-iam";
import {
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from "@aws-sdk/client-eventbridge";
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
    const ruleNames =
      provider === "CodeCommit"
        ? [`${prefix}-start-pipeline`, `${prefix}-start-pipeline-on-tag`]
        : [`${prefix}-start-pipeline`];
    const rules = ((await events.send(new ListRulesCommand({}))).Rules ?? []).filter((r) =>
      r.Name?.startsWith(`${prefix}-start-pipeline`),
    );
    expect(rules.map((r) => r.Name).sort()).toEqual(ruleNames);
    // Teardown finds the rules to disable through these outputs.
    const outputs = outputsOf(await describeStack(cfn, stackName(prefix, "pipeline")));
    expect(outputs.TriggerRuleName).toBe(`${prefix}-start-pipeline`);
    expect(outputs.ReleaseTagRuleName).toBe(provider === "CodeCommit" ? `${prefix}-start-pipeline-on-tag` : undefined);
    for (const rule of rules) {
      const pattern = JSON.parse(rule.EventPattern ?? "{}") as { source: string[] };
      expect(pattern.source).toEqual([source]);
      const targets = (await events.send(new ListTargetsByRuleCommand({ Rule: rule.Name }))).Targets ?? [];
      expect(targets).toEqual([
        expect.objectContaining({ Arn: `arn:aws:codepipeline:us-east-1:123456789012:${prefix}-pipeline` }),
      ]);
    }
    if (provider === "S3") {
      const pattern = JSON.parse(rules[0]?.EventPattern ?? "{}") as { detail: Record<string, unknown> };
      expect(pattern.detail).toMatchObject({ bucket: { name: [bucket] }, object: { key: ["source.zip"] } });
    } else {
      // What starts a run: a push to main and a pushed release tag v*; not another branch, another tag or a
      // deletion. The emulator's EventBridge matches the rules' patterns but cannot invoke CodePipeline (a
      // CodePipeline target fails its PutEvents): each rule's target is swapped for a log group, and what
      // reaches the log group is what would start a run.
      const logs = emulatorClient(CloudWatchLogsClient, fixture.config.aws);
      const seen = `/lab/test/${prefix}-rule-matches`;
      await logs.send(new CreateLogGroupCommand({ logGroupName: seen }));
      for (const rule of ruleNames) {
        await events.send(new RemoveTargetsCommand({ Rule: rule, Ids: ["pipeline"] }));
        await events.send(
          new PutTargetsCommand({
            Rule: rule,
            Targets: [{ Id: "seen", Arn: `arn:aws:logs:us-east-1:123456789012:log-group:${seen}` }],
          }),
        );
      }
      const push = (event: string, referenceType: string, referenceName: string) => ({
        Source: "aws.codecommit",
        DetailType: "CodeCommit Repository State Change",
        Resources: [`arn:aws:codecommit:us-east-1:123456789012:${prefix}-app`],
        Detail: JSON.stringify({
          event,
          referenceType,
          referenceName,
          referenceFullName: `refs/${referenceType === "tag" ? "tags" : "heads"}/${referenceName}`,
          repositoryName: `${prefix}-app`,
          commitId: "0b7f5c2e1d2a4c3b9e8f7a6b5c4d3e2f1a0b9c8d",
        }),
      });
      const sent = await events.send(
        new PutEventsCommand({
          Entries: [
            push("referenceUpdated", "branch", "main"),
            push("referenceCreated", "tag", "v1.0.0"),
            push("referenceUpdated", "tag", "v1.0.1"),
            push("referenceUpdated", "branch", "feature"),
            push("referenceCreated", "branch", "v2"),
            push("referenceCreated", "tag", "release-1"),
            push("referenceDeleted", "tag", "v0.9.0"),
          ],
        }),
      );
      expect(sent.FailedEntryCount).toBe(0);
      const delivered = (await logs.send(new FilterLogEventsCommand({ logGroupName: seen }))).events ?? [];
      const started = delivered.map(
        (e) => (JSON.parse(e.message ?? "{}") as { detail: { referenceFullName: string } }).detail.referenceFullName,
      );
      expect(started.sort()).toEqual(["refs/heads/main", "refs/tags/v1.0.0", "refs/tags/v1.0.1"]);
    }
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
