// Teardown on AWS, against a small in-memory account behind mocked clients
// (aws-sdk-client-mock) answering with the shapes AWS returns: the emulator
// runs no pipelines, lists no tags across services, and has no report groups.
// Checks the order (the pipeline is stopped before any stack is deleted, a
// running execution abandoned), the removal of what stacks do not own, the
// ownership refusal, and the final re-check of the Tagging API's stale list.
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
} from "@aws-sdk/client-cloudformation";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  DeleteReportGroupCommand,
  ListBuildsForProjectCommand,
  ListReportGroupsCommand,
  StopBuildCommand,
} from "@aws-sdk/client-codebuild";
import {
  CodeCommitClient,
  DeleteRepositoryCommand,
  GetRepositoryCommand,
  ListTagsForResourceCommand as ListCodeCommitTags,
} from "@aws-sdk/client-codecommit";
import {
  CodePipelineClient,
  ListPipelineExecutionsCommand,
  StopPipelineExecutionCommand,
} from "@aws-sdk/client-codepipeline";
import {
  BatchDeleteImageCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListImagesCommand,
  ListTagsForResourceCommand as ListEcrTags,
} from "@aws-sdk/client-ecr";
import {
  DeleteTaskDefinitionsCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
} from "@aws-sdk/client-ecs";
import { DescribeRulesCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DisableRuleCommand, EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { GetTopicAttributesCommand, SNSClient } from "@aws-sdk/client-sns";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DeleteObjectsCommand, GetBucketTaggingCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteSecretCommand, ListSecretsCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { serviceError } from "./support/service-error.ts";
import { narrationSink } from "../lessons/support/narration-sink.ts";
import { emptyBucket, purgeSecrets } from "../setup/lib/aws/cleanup.ts";
import { readConfig } from "../setup/lib/config.ts";
import { createContext } from "../setup/lib/context.ts";
import { ConfigError, StepError } from "../setup/lib/errors.ts";
import { placesOf, remember } from "../setup/lib/run-records.ts";
import { createNarrator } from "../setup/lib/ui/narrator.ts";
import { targetFor } from "../setup/targets/index.ts";
import { teardown } from "../setup/teardown.ts";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const TAG = { Key: "aws-cicd-lab:prefix", Value: "demo" };
const BUCKET = `demo-artifacts-${ACCOUNT}-${REGION}`;

const mocks = {
  cfn: mockClient(CloudFormationClient),
  cp: mockClient(CodePipelineClient),
  events: mockClient(EventBridgeClient),
  ecr: mockClient(ECRClient),
  cc: mockClient(CodeCommitClient),
  s3: mockClient(S3Client),
  secrets: mockClient(SecretsManagerClient),
  ecs: mockClient(ECSClient),
  cb: mockClient(CodeBuildClient),
  tagging: mockClient(ResourceGroupsTaggingAPIClient),
  elb: mockClient(ElasticLoadBalancingV2Client),
  logs: mockClient(CloudWatchLogsClient),
  cw: mockClient(CloudWatchClient),
  sns: mockClient(SNSClient),
  sqs: mockClient(SQSClient),
};

/** A fake answer as the SDK gives it: a promise, rejected when the fake throws. */
function answer<I, O>(fake: (input: I) => O): (input: I) => Promise<O> {
  return (input) => {
    try {
      return Promise.resolve(fake(input));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
}

/** What happened, in order, across services. */
let calls: string[] = [];
let stacks: Map<string, Stack>;

function stack(role: string, outputs: Record<string, string> = {}): Stack {
  return {
    StackName: `demo-${role}`,
    StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/demo-${role}/0a1b2c3d`,
    StackStatus: "CREATE_COMPLETE",
    CreationTime: new Date("2026-11-21T09:00:00Z"),
    Tags: [TAG],
    Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
  };
}

function account(options: { foreignRepository?: boolean; staleOnly?: boolean } = {}) {
  calls = [];
  stacks = new Map(
    [
      stack("bucket", { BucketName: BUCKET }),
      stack("pipeline", {
        PipelineName: "demo-pipeline",
        TriggerRuleName: "demo-start-pipeline",
        ReleaseTagRuleName: "demo-start-pipeline-on-tag",
      }),
      stack("environment", { VpcId: "vpc-0abc" }),
      stack("service"),
      stack("monitoring"),
    ].map((s) => [s.StackName as string, s]),
  );
  const byName = (name: string) =>
    stacks.get(name) ?? [...stacks.values()].find((s) => s.StackId === name) ?? undefined;
  mocks.cfn.on(DescribeStacksCommand).callsFake(
    answer((input: { StackName: string }) => {
      const found = byName(input.StackName);
      if (!found) throw serviceError("ValidationError", `Stack with id ${input.StackName} does not exist`);
      return { Stacks: [found] };
    }),
  );
  mocks.cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
  mocks.cfn.on(DeleteStackCommand).callsFake(
    answer((input: { StackName: string }) => {
      const found = byName(input.StackName);
      calls.push(`delete stack ${found?.StackName}`);
      if (found) stacks.delete(found.StackName as string);
      return {};
    }),
  );

  mocks.events.on(DisableRuleCommand).callsFake(
    answer((input: { Name: string }) => {
      calls.push(`disable rule ${input.Name}`);
      return {};
    }),
  );
  mocks.cp.on(ListPipelineExecutionsCommand).resolves({
    pipelineExecutionSummaries: [
      { pipelineExecutionId: "exec-running", status: "InProgress", startTime: new Date() },
      { pipelineExecutionId: "exec-done", status: "Succeeded", startTime: new Date("2026-11-21T09:30:00Z") },
    ],
  });
  mocks.cp.on(StopPipelineExecutionCommand).callsFake(
    answer((input: { pipelineExecutionId: string; abandon: boolean }) => {
      calls.push(`stop ${input.pipelineExecutionId}${input.abandon ? " (abandon)" : ""}`);
      return { pipelineExecutionId: input.pipelineExecutionId };
    }),
  );

  const repoArn = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/demo-app`;
  mocks.ecr
    .on(DescribeRepositoriesCommand)
    .resolves({ repositories: [{ repositoryName: "demo-app", repositoryArn: repoArn }] });
  mocks.ecr.on(ListEcrTags).resolves({ tags: [TAG] });
  mocks.ecr
    .on(ListImagesCommand)
    .resolvesOnce({ imageIds: [{ imageDigest: "sha256:1", imageTag: "1.0.0" }] })
    .resolves({ imageIds: [] });
  mocks.ecr.on(BatchDeleteImageCommand).callsFake(
    answer(() => {
      calls.push("delete images");
      return { imageIds: [], failures: [] };
    }),
  );

  mocks.cc.on(GetRepositoryCommand).resolves({
    repositoryMetadata: { repositoryName: "demo-app", Arn: `arn:aws:codecommit:${REGION}:${ACCOUNT}:demo-app` },
  });
  mocks.cc
    .on(ListCodeCommitTags)
    .resolves({ tags: options.foreignRepository ? { team: "payments" } : { [TAG.Key]: TAG.Value } });
  mocks.cc.on(DeleteRepositoryCommand).callsFake(
    answer(() => {
      calls.push("delete codecommit repository");
      return { repositoryId: "r-1" };
    }),
  );

  mocks.s3.on(GetBucketTaggingCommand).resolves({ TagSet: [TAG] });
  mocks.s3
    .on(ListObjectVersionsCommand)
    .resolvesOnce({ Versions: [{ Key: "source.zip", VersionId: "v1" }], DeleteMarkers: [] })
    .resolves({});
  mocks.s3.on(DeleteObjectsCommand).callsFake(
    answer(() => {
      calls.push("empty bucket");
      return {};
    }),
  );

  mocks.secrets.on(ListSecretsCommand).resolves({
    SecretList: [
      {
        ARN: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:JwtSecret-abc-XyZ123`,
        Name: "JwtSecret-abc",
        DeletedDate: new Date(),
        Tags: [TAG],
      },
    ],
  });
  mocks.secrets.on(DeleteSecretCommand).callsFake(
    answer(() => {
      calls.push("purge secret");
      return {};
    }),
  );

  mocks.ecs.on(ListTaskDefinitionsCommand).resolves({
    taskDefinitionArns: [
      `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/demo-app:1`,
      `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/demo-app:2`,
      // Matched by familyPrefix, but another family: left alone.
      `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/demo-app-other:1`,
    ],
  });
  mocks.ecs.on(DeleteTaskDefinitionsCommand).callsFake(
    answer((input: { taskDefinitions: string[] }) => {
      calls.push(`delete task definitions ${input.taskDefinitions.map((a) => a.split("/").at(-1)).join(" ")}`);
      return { taskDefinitions: [], failures: [] };
    }),
  );
  mocks.ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { status: "DELETE_IN_PROGRESS" } });

  // The abandoned run's two builds: the image build still running, the tests already failed.
  mocks.cb
    .on(ListBuildsForProjectCommand, { projectName: "demo-build" })
    .resolves({ ids: ["demo-build:b2", "demo-build:b1"] })
    .on(ListBuildsForProjectCommand, { projectName: "demo-test" })
    .resolves({ ids: ["demo-test:t1"] });
  mocks.cb.on(BatchGetBuildsCommand).callsFake(
    answer((input: { ids: string[] }) => ({
      builds: input.ids.map((id) => ({ id, buildStatus: id === "demo-build:b2" ? "IN_PROGRESS" : "FAILED" })),
    })),
  );
  mocks.cb.on(StopBuildCommand).callsFake(
    answer((input: { id: string }) => {
      calls.push(`stop build ${input.id}`);
      return { build: { id: input.id, buildStatus: "IN_PROGRESS" } };
    }),
  );
  mocks.cb.on(ListReportGroupsCommand).resolves({
    reportGroups: [
      `arn:aws:codebuild:${REGION}:${ACCOUNT}:report-group/demo-test-lab-app-tests`,
      `arn:aws:codebuild:${REGION}:${ACCOUNT}:report-group/demo-build-lab-app-tests`,
      `arn:aws:codebuild:${REGION}:${ACCOUNT}:report-group/someone-elses-tests`,
    ],
  });
  mocks.cb.on(DeleteReportGroupCommand).callsFake(
    answer((input: { arn: string }) => {
      calls.push(`delete report group ${input.arn.split("/").at(-1)}`);
      return {};
    }),
  );

  // The Tagging API's stale list: a deleted listener rule and a task definition being deleted…
  const stale = [
    `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener-rule/app/demo-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`,
    `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/demo-app:2`,
    // lesson 07's topic and inbox, deleted with the monitoring stack
    `arn:aws:sns:${REGION}:${ACCOUNT}:demo-alarms`,
    `arn:aws:sqs:${REGION}:${ACCOUNT}:demo-alarm-inbox`,
    `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:demo-target-5xx`,
  ];
  // …and, unless told otherwise, a log group that really is still there.
  const real = options.staleOnly
    ? []
    : [
        `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws-cicd-lab/demo/app`,
        `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:demo-latency-p90`,
      ];
  mocks.tagging.on(GetResourcesCommand).resolves({
    ResourceTagMappingList: [...stale, ...real].map((ResourceARN) => ({ ResourceARN, Tags: [TAG] })),
    PaginationToken: "",
  });
  mocks.sns.on(GetTopicAttributesCommand).rejects(serviceError("NotFoundException", "Topic does not exist"));
  mocks.sqs
    .on(GetQueueUrlCommand)
    .rejects(serviceError("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."));
  mocks.cw.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames?: string[] }) => ({
    MetricAlarms: real.some((arn) => input.AlarmNames?.some((n) => arn.endsWith(`:alarm:${n}`)))
      ? [{ AlarmName: input.AlarmNames?.[0] }]
      : [],
  }));
  mocks.elb.on(DescribeRulesCommand).rejects(serviceError("RuleNotFoundException", "One or more rules not found"));
  mocks.logs
    .on(DescribeLogGroupsCommand)
    .resolves({ logGroups: [{ logGroupName: "/aws-cicd-lab/demo/app", arn: real[0] ?? "" }] });
}

const sink = narrationSink();

/** Where this file's runs are recorded. */
const records = mkdtempSync(join(tmpdir(), "lab-runs-"));

function context() {
  const config = readConfig(["--region", REGION, "--prefix", "demo", "--yes"], {
    CI: "true",
    NO_COLOR: "1",
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
    LAB_STATE_DIR: records,
  });
  const ui = createNarrator({ tty: false, color: false, stream: sink.output, out: sink.output });
  return createContext(config, targetFor(config), ui, new AbortController().signal, { accountId: ACCOUNT });
}

beforeEach(() => {
  for (const m of Object.values(mocks)) m.reset();
  sink.clear();
});

describe("teardown on AWS", () => {
  it("stops the pipeline before deleting anything, removes what no stack owns, and sees through stale tags", async () => {
    account({ staleOnly: true });
    const here = { target: "aws", region: REGION, account: ACCOUNT } as const;
    await remember(records, "demo", here);
    await remember(records, "demo", { target: "local" });

    await teardown(context(), {
      dryRun: false,
      removeEmulator: false,
      leftoverWait: { maxWaitSeconds: 3, minDelaySeconds: 1 },
    });

    expect(calls.slice(0, 8)).toEqual([
      "disable rule demo-start-pipeline",
      "disable rule demo-start-pipeline-on-tag",
      "stop exec-running (abandon)",
      // Only the build still running, and before the roles it runs with are deleted.
      "stop build demo-build:b2",
      // What watches the service (lesson 07's alarms), before the service.
      "delete stack demo-monitoring",
      "delete stack demo-service",
      "purge secret",
      "delete task definitions demo-app:1 demo-app:2",
    ]);
    // The pipeline (its images first) and the environment go side by side.
    expect(calls.slice(8, 11).sort()).toEqual([
      "delete images",
      "delete stack demo-environment",
      "delete stack demo-pipeline",
    ]);
    expect(calls.indexOf("delete images")).toBeLessThan(calls.indexOf("delete stack demo-pipeline"));
    expect(calls.slice(11)).toEqual([
      "delete report group demo-test-lab-app-tests",
      "delete codecommit repository",
      "empty bucket",
      "delete stack demo-bucket",
    ]);
    expect(stacks.size).toBe(0);
    expect(sink.text()).toMatch(/1 running execution\(s\) abandoned, 1 running build\(s\) stopped/);
    expect(sink.text()).toMatch(/nothing tagged with the prefix is left/);
    // This place's record is gone with the run; the rehearsal's stays until its own teardown.
    expect((await placesOf(records, "demo")).map((r) => r.target)).toEqual(["local"]);
  });

  it("reports only what its own service still has, with the command that removes it", async () => {
    account();
    const error = await teardown(context(), {
      dryRun: false,
      removeEmulator: false,
      leftoverWait: { maxWaitSeconds: 2, minDelaySeconds: 1 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    const message = (error as StepError).message;
    expect(message).toMatch(/^Teardown left 2 thing\(s\) behind:/);
    expect(message).toContain(
      `remove it: aws cloudwatch delete-alarms --alarm-names demo-latency-p90 --region ${REGION}`,
    );
    expect(message).toContain(`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws-cicd-lab/demo/app`);
    expect(message).toContain(
      `remove it: aws logs delete-log-group --log-group-name /aws-cicd-lab/demo/app --region ${REGION}`,
    );
    expect(message).not.toContain("listener-rule");
    expect(message).not.toContain("task-definition");
  });

  it("refuses, before touching anything, a repository with the run's name but not its tag", async () => {
    account({ foreignRepository: true });
    const error = await teardown(context(), { dryRun: false, removeEmulator: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as ConfigError).message).toBe(
      "CodeCommit repository demo-app exists without the tag aws-cicd-lab:prefix=demo: not made by this workshop, so nothing of it is changed or deleted.",
    );
    expect(calls).toEqual([]);
  });
});

describe("cleanup helpers", () => {
  it("emptyBucket stops with the objects S3 refused to delete instead of listing them forever", async () => {
    mocks.s3.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: "source.zip", VersionId: "v1" }] });
    mocks.s3.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: "source.zip", VersionId: "v1", Code: "AccessDenied", Message: "Access Denied" }],
    });
    const s3 = new S3Client({ region: REGION });
    await expect(emptyBucket(s3, BUCKET)).rejects.toThrow(
      `1 object version(s) in s3://${BUCKET} could not be deleted: source.zip (v1): AccessDenied Access Denied`,
    );
    expect(mocks.s3.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
  });

  it("purgeSecrets force-deletes only this prefix's secrets, scheduled ones included", async () => {
    mocks.secrets.on(ListSecretsCommand).resolves({
      SecretList: [
        { ARN: "arn:secret:ours", Name: "JwtSecret-ours", DeletedDate: new Date(), Tags: [TAG] },
        { ARN: "arn:secret:theirs", Name: "JwtSecret-theirs", Tags: [{ Key: TAG.Key, Value: "demo2" }] },
      ],
    });
    mocks.secrets.on(DeleteSecretCommand).resolves({});
    const purged = await purgeSecrets(new SecretsManagerClient({ region: REGION }), "demo");
    expect(purged).toEqual(["JwtSecret-ours"]);
    expect(mocks.secrets.commandCalls(ListSecretsCommand)[0]?.args[0].input).toMatchObject({
      IncludePlannedDeletion: true,
    });
    expect(mocks.secrets.commandCalls(DeleteSecretCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: "arn:secret:ours", ForceDeleteWithoutRecovery: true },
    ]);
  });
});
