// Following a pipeline run on AWS. The emulator runs no pipelines, so the
// clients are mocked with the shapes CodePipeline, CodeBuild and CloudWatch
// Logs return (ListPipelineExecutions summaries with sourceRevisions,
// GetPipelineState stageStates, ListActionExecutions details).
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { BatchGetBuildsCommand, CodeBuildClient, DescribeTestCasesCommand } from "@aws-sdk/client-codebuild";
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  StartPipelineExecutionCommand,
  type PipelineExecutionStatus,
  type PipelineExecutionSummary,
  type StageExecutionStatus,
  type StageState,
} from "@aws-sdk/client-codepipeline";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type ResourceStatus,
  type StackEvent,
} from "@aws-sdk/client-cloudformation";
import { findExecution, followExecution, releaseRevision, type StageLine } from "../setup/lib/aws/pipeline-watch.ts";

const creds = { region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } };
const cpMock = mockClient(CodePipelineClient);
const cbMock = mockClient(CodeBuildClient);
const logsMock = mockClient(CloudWatchLogsClient);
const cfnMock = mockClient(CloudFormationClient);
const clients = {
  cp: new CodePipelineClient(creds),
  cb: new CodeBuildClient(creds),
  logs: new CloudWatchLogsClient(creds),
  cfn: new CloudFormationClient(creds),
};
const fast = { maxWaitSeconds: 20, minDelaySeconds: 1, maxDelaySeconds: 1 };

const OLD = "1111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NEW = "2222222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const summary = (id: string, revision: string, status: string): PipelineExecutionSummary => ({
  pipelineExecutionId: id,
  status: status as PipelineExecutionStatus,
  startTime: new Date("2026-11-21T10:00:00Z"),
  sourceRevisions: [{ actionName: "Source", revisionId: revision, revisionSummary: "Seed the workshop app" }],
  trigger: {
    triggerType: "CloudWatchEvent",
    triggerDetail: "arn:aws:events:eu-west-1:123456789012:rule/demo-pipeline-StartOnPushToBranch",
  },
});
const stage = (name: string, executionId: string, status: string): StageState => ({
  stageName: name,
  latestExecution: { pipelineExecutionId: executionId, status: status as StageExecutionStatus },
});

beforeEach(() => {
  cpMock.reset();
  cbMock.reset();
  logsMock.reset();
  cfnMock.reset();
});

describe("findExecution", () => {
  it("waits for the run of exactly this revision and ignores runs of older ones", async () => {
    cpMock
      .on(ListPipelineExecutionsCommand)
      .resolvesOnce({ pipelineExecutionSummaries: [summary("exec-old", OLD, "InProgress")] })
      .resolves({
        pipelineExecutionSummaries: [summary("exec-new", NEW, "InProgress"), summary("exec-old", OLD, "Superseded")],
      });

    expect(await findExecution(clients.cp, "demo-pipeline", NEW, fast)).toEqual({
      id: "exec-new",
      status: "InProgress",
    });
    expect(cpMock.commandCalls(ListPipelineExecutionsCommand)).toHaveLength(2);
  });

  it("gives up with a hint when no run for it starts", async () => {
    cpMock
      .on(ListPipelineExecutionsCommand)
      .resolves({ pipelineExecutionSummaries: [summary("exec-old", OLD, "Succeeded")] });
    await expect(findExecution(clients.cp, "demo-pipeline", NEW, { ...fast, maxWaitSeconds: 2 })).rejects.toThrow(
      /No run of demo-pipeline for revision 2222222222/,
    );
  });
});

describe("followExecution", () => {
  it("reports stage by stage and resolves when the run succeeds", async () => {
    cpMock
      .on(GetPipelineExecutionCommand)
      .resolvesOnce({ pipelineExecution: { pipelineExecutionId: "exec-new", status: "InProgress" } })
      .resolves({ pipelineExecution: { pipelineExecutionId: "exec-new", status: "Succeeded" } });
    cpMock
      .on(GetPipelineStateCommand)
      .resolvesOnce({
        stageStates: [
          stage("Source", "exec-new", "Succeeded"),
          stage("Test", "exec-new", "InProgress"),
          stage("Build", "exec-old", "Succeeded"),
          { stageName: "Deploy" },
        ],
      })
      .resolves({ stageStates: ["Source", "Test", "Build", "Deploy"].map((s) => stage(s, "exec-new", "Succeeded")) });

    const seen: StageLine[][] = [];
    await followExecution(clients, "demo-pipeline", "exec-new", { ...fast, onStages: (lines) => seen.push(lines) });

    expect(seen[0]).toEqual([
      { name: "Source", status: "Succeeded" },
      { name: "Test", status: "InProgress" },
      { name: "Build", status: "Waiting" }, // its latest execution is an older run's
      { name: "Deploy", status: "Waiting" },
    ]);
    expect(seen.at(-1)?.every((l) => l.status === "Succeeded")).toBe(true);
  });

  it("on failure names the failed action, its summary, and the failing build's last log lines", async () => {
    cpMock
      .on(GetPipelineExecutionCommand)
      .resolves({ pipelineExecution: { pipelineExecutionId: "exec-new", status: "Failed" } });
    cpMock
      .on(GetPipelineStateCommand)
      .resolves({ stageStates: [stage("Source", "exec-new", "Succeeded"), stage("Test", "exec-new", "Failed")] });
    cpMock.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        {
          pipelineExecutionId: "exec-new",
          stageName: "Source",
          actionName: "Source",
          status: "Succeeded",
          input: { actionTypeId: { category: "Source", owner: "AWS", provider: "CodeCommit", version: "1" } },
        },
        {
          pipelineExecutionId: "exec-new",
          stageName: "Test",
          actionName: "LintAndUnitTests",
          status: "Failed",
          input: { actionTypeId: { category: "Test", owner: "AWS", provider: "CodeBuild", version: "1" } },
          output: {
            executionResult: {
              externalExecutionId: "demo-test:0b7f5c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f",
              externalExecutionSummary: "Build terminated with state: FAILED",
            },
          },
        },
      ],
    });
    cbMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: "demo-test:0b7f5c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f",
          buildStatus: "FAILED",
          logs: { groupName: "/aws/codebuild/demo-test", streamName: "0b7f5c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f" },
          reportArns: ["arn:aws:codebuild:eu-west-1:123456789012:report/demo-test-lab-app-tests:0b7f5c2e"],
        },
      ],
    });
    cbMock.on(DescribeTestCasesCommand).resolves({
      testCases: [
        {
          prefix: "GET /time",
          name: "returns the message",
          status: "FAILED",
          message: "AssertionError: expected 'Hello' to be 'Hi'\n    at test/app.test.ts:12:5",
        },
      ],
    });
    logsMock.on(GetLogEventsCommand).resolves({
      events: [
        { timestamp: 1, message: " FAIL  test/app.test.ts > GET /time > returns the message\n", ingestionTime: 2 },
        { timestamp: 3, message: "checks: unit tests failed (see above)\n", ingestionTime: 4 },
      ],
    });

    const error = await followExecution(clients, "demo-pipeline", "exec-new", fast).catch((e: unknown) => e as Error);

    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toContain("The pipeline run exec-new failed");
    expect(error?.message).toContain("Test › LintAndUnitTests failed: Build terminated with state: FAILED");
    expect(error?.message).toContain(
      "failed tests (from the build's test report):\n  ✗ GET /time › returns the message: AssertionError: expected 'Hello' to be 'Hi'\n",
    );
    expect(cbMock.commandCalls(DescribeTestCasesCommand)[0]?.args[0].input).toMatchObject({
      filter: { status: "FAILED" },
    });
    expect(error?.message).toContain("last 2 lines of /aws/codebuild/demo-test:");
    expect(error?.message).toContain("checks: unit tests failed (see above)");
    expect(logsMock.commandCalls(GetLogEventsCommand)[0]?.args[0].input).toMatchObject({
      limit: 20,
      startFromHead: false,
    });
  });
});

describe("releaseRevision", () => {
  const release = { ...fast, serviceStack: "demo-service" };
  const serviceStackAt = (status: string) =>
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: "demo-service",
          StackId: "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo-service/4d3c2b1a",
          StackStatus: status as never,
          CreationTime: new Date("2026-11-21T10:05:00Z"),
        },
      ],
    });
  beforeEach(() => {
    cfnMock.reset();
    serviceStackAt("UPDATE_COMPLETE");
  });
  const succeeded = () => {
    cpMock.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: "exec-retry", pipelineName: "demo-pipeline", status: "Succeeded" },
    });
    cpMock
      .on(GetPipelineStateCommand)
      .resolves({ stageStates: ["Source", "Test", "Build", "Deploy"].map((s) => stage(s, "exec-retry", "Succeeded")) });
  };

  it("starts a new run of the same revision when the run found for it already failed (a re-run after a fix)", async () => {
    cpMock
      .on(ListPipelineExecutionsCommand)
      .resolves({ pipelineExecutionSummaries: [summary("exec-failed", NEW, "Failed")] });
    cpMock.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: "exec-retry" });
    succeeded();
    const restarts: string[] = [];

    const id = await releaseRevision(
      clients,
      "demo-pipeline",
      { provider: "CodeCommit", revision: NEW },
      {
        ...release,
        onRestart: (old, status, fresh) => restarts.push(`${old} ${status} ${fresh}`),
      },
    );

    expect(id).toBe("exec-retry");
    expect(restarts).toEqual(["exec-failed Failed exec-retry"]);
    expect(cpMock.commandCalls(StartPipelineExecutionCommand)[0]?.args[0].input).toEqual({
      name: "demo-pipeline",
      sourceRevisions: [{ actionName: "Source", revisionType: "COMMIT_ID", revisionValue: NEW }],
    });
    expect(cpMock.commandCalls(GetPipelineExecutionCommand)[0]?.args[0].input.pipelineExecutionId).toBe("exec-retry");
  });

  it("follows the run found when it is still going, starting nothing", async () => {
    cpMock
      .on(ListPipelineExecutionsCommand)
      .resolves({ pipelineExecutionSummaries: [summary("exec-retry", NEW, "InProgress")] });
    succeeded();
    expect(await releaseRevision(clients, "demo-pipeline", { provider: "S3", revision: NEW }, release)).toBe(
      "exec-retry",
    );
    expect(cpMock.commandCalls(StartPipelineExecutionCommand)).toHaveLength(0);
    expect(cfnMock.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it("after an interrupted lesson: restarts a run superseded by a newer one, like a failed one", async () => {
    cpMock
      .on(ListPipelineExecutionsCommand)
      .resolves({ pipelineExecutionSummaries: [summary("exec-superseded", NEW, "Superseded")] });
    cpMock.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: "exec-retry" });
    succeeded();
    const restarts: string[] = [];
    await releaseRevision(
      clients,
      "demo-pipeline",
      { provider: "S3", revision: NEW },
      { ...release, onRestart: (old, status, fresh) => restarts.push(`${old} ${status} ${fresh}`) },
    );
    expect(restarts).toEqual(["exec-superseded Superseded exec-retry"]);
  });

  it("after an interrupted lesson: waits for the service stack's rollback to end before restarting its failed run", async () => {
    const order: string[] = [];
    cpMock
      .on(ListPipelineExecutionsCommand)
      .resolves({ pipelineExecutionSummaries: [summary("exec-failed", NEW, "Failed")] });
    cpMock.on(StartPipelineExecutionCommand).callsFake(() => {
      order.push("start run");
      return Promise.resolve({ pipelineExecutionId: "exec-retry" });
    });
    succeeded();
    const at = (StackStatus: string) => {
      order.push(StackStatus);
      return { Stacks: [{ StackName: "demo-service", StackId: "stack/demo-service/1", StackStatus } as never] };
    };
    cfnMock
      .on(DescribeStacksCommand)
      .callsFakeOnce(() => Promise.resolve(at("UPDATE_ROLLBACK_IN_PROGRESS")))
      .callsFakeOnce(() => Promise.resolve(at("UPDATE_ROLLBACK_IN_PROGRESS")))
      .callsFakeOnce(() => Promise.resolve(at("UPDATE_ROLLBACK_IN_PROGRESS")))
      .callsFake(() => Promise.resolve(at("UPDATE_ROLLBACK_COMPLETE")));
    const said: string[] = [];

    await releaseRevision(
      clients,
      "demo-pipeline",
      { provider: "S3", revision: NEW },
      { ...release, onNotice: (t) => said.push(t) },
    );

    expect(said).toEqual([
      "demo-service is UPDATE_ROLLBACK_IN_PROGRESS: waiting for it to finish before starting the run again",
    ]);
    expect(order.indexOf("start run")).toBeGreaterThan(order.indexOf("UPDATE_ROLLBACK_COMPLETE"));
  });

  it("after an interrupted lesson: follows the run still deploying (its ECS deployment rolling back) to its end", async () => {
    cpMock
      .on(ListPipelineExecutionsCommand)
      .resolves({ pipelineExecutionSummaries: [summary("exec-running", NEW, "InProgress")] });
    cpMock
      .on(GetPipelineExecutionCommand)
      .resolvesOnce({ pipelineExecution: { pipelineExecutionId: "exec-running", status: "InProgress" } })
      .resolves({ pipelineExecution: { pipelineExecutionId: "exec-running", status: "Failed" } });
    cpMock.on(GetPipelineStateCommand).resolves({
      stageStates: [stage("Source", "exec-running", "Succeeded"), stage("Deploy", "exec-running", "InProgress")],
    });
    cpMock.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        {
          stageName: "Deploy",
          actionName: "DeployService",
          status: "Failed",
          output: {
            executionResult: {
              externalExecutionSummary:
                "Stack demo-service could not be updated: ECS Deployment Circuit Breaker was triggered",
            },
          },
        },
      ],
    });
    const error = await releaseRevision(clients, "demo-pipeline", { provider: "S3", revision: NEW }, release).catch(
      (e: unknown) => e,
    );
    // The same run, followed (not started again), ending with the failure step 06 expects.
    expect(cpMock.commandCalls(StartPipelineExecutionCommand)).toHaveLength(0);
    expect((error as Error).message).toMatch(/exec-running failed[\s\S]*Deploy[\s\S]*Circuit Breaker/);
  });

  it("deletes, narrated, a service stack a failed first deploy left in ROLLBACK_COMPLETE before restarting the run", async () => {
    const order: string[] = [];
    cpMock
      .on(ListPipelineExecutionsCommand)
      .resolves({ pipelineExecutionSummaries: [summary("exec-failed", NEW, "Failed")] });
    cpMock.on(StartPipelineExecutionCommand).callsFake(() => {
      order.push("start run");
      return Promise.resolve({ pipelineExecutionId: "exec-retry" });
    });
    succeeded();
    const at = (StackStatus: string) => ({
      Stacks: [{ StackName: "demo-service", StackId: "stack/demo-service/1", StackStatus } as never],
    });
    cfnMock
      .on(DescribeStacksCommand)
      .resolvesOnce(at("ROLLBACK_COMPLETE"))
      .resolvesOnce(at("ROLLBACK_COMPLETE"))
      .resolvesOnce(at("DELETE_IN_PROGRESS"))
      .resolves(at("DELETE_COMPLETE"));
    cfnMock.on(DeleteStackCommand).callsFake(() => {
      order.push("delete service stack");
      return Promise.resolve({});
    });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    const said: string[] = [];

    await releaseRevision(
      clients,
      "demo-pipeline",
      { provider: "S3", revision: NEW },
      { ...release, onNotice: (t) => said.push(t) },
    );

    expect(said).toEqual([
      "demo-service is in ROLLBACK_COMPLETE (its first deploy failed), where only a delete is possible: deleting it so the Deploy stage can create it again",
    ]);
    expect(order).toEqual(["delete service stack", "start run"]);
  });
});

describe("a failed Deploy action", () => {
  const started = new Date("2026-11-21T10:05:00Z");
  const event = (id: string, logicalId: string, status: string, reason?: string, type = "AWS::ECS::Service") => ({
    EventId: id,
    StackName: "demo-service",
    StackId: "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo-service/abc",
    LogicalResourceId: logicalId,
    ResourceType: logicalId === "demo-service" ? "AWS::CloudFormation::Stack" : type,
    ResourceStatus: status as ResourceStatus,
    Timestamp: new Date(+started + Number(id.slice(1)) * 1000),
    ...(reason ? { ResourceStatusReason: reason } : {}),
  });

  it("names the stack's first failed resource and its reason, paging the events", async () => {
    cpMock.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: "exec-new", pipelineName: "demo-pipeline", status: "Failed" },
    });
    cpMock.on(GetPipelineStateCommand).resolves({ stageStates: [stage("Deploy", "exec-new", "Failed")] });
    cpMock.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        {
          pipelineExecutionId: "exec-new",
          stageName: "Deploy",
          actionName: "DeployService",
          status: "Failed",
          startTime: started,
          input: {
            actionTypeId: { category: "Deploy", owner: "AWS", provider: "CloudFormation", version: "1" },
            configuration: { StackName: "demo-service", ActionMode: "REPLACE_ON_FAILURE" },
          },
          output: { executionResult: { externalExecutionSummary: "Stack demo-service in ROLLBACK_COMPLETE state" } },
        },
      ],
    });
    // Newest first, two pages: the cancelled sibling and the rollback on page one, the real cause on page two.
    const page1: StackEvent[] = [
      event("e9", "demo-service", "ROLLBACK_COMPLETE"),
      event("e8", "TargetGroup", "DELETE_COMPLETE", undefined, "AWS::ElasticLoadBalancingV2::TargetGroup"),
      event("e7", "JwtSecret", "CREATE_FAILED", "Resource creation cancelled", "AWS::SecretsManager::Secret"),
    ];
    const page2: StackEvent[] = [
      event(
        "e6",
        "ListenerRule",
        "CREATE_FAILED",
        "User: arn:aws:sts::123456789012:assumed-role/demo-pipeline-DeployRole/x is not authorized to perform: elasticloadbalancing:AddTags",
        "AWS::ElasticLoadBalancingV2::ListenerRule",
      ),
      event("e5", "ListenerRule", "CREATE_IN_PROGRESS", undefined, "AWS::ElasticLoadBalancingV2::ListenerRule"),
      event("e1", "demo-service", "CREATE_IN_PROGRESS"),
      {
        ...event("e0", "Service", "CREATE_FAILED", "an older release's failure"),
        Timestamp: new Date("2026-11-20T00:00:00Z"),
      },
    ];
    cfnMock
      .on(DescribeStackEventsCommand, { StackName: "demo-service", NextToken: undefined })
      .resolves({ StackEvents: page1, NextToken: "page-2" })
      .on(DescribeStackEventsCommand, { StackName: "demo-service", NextToken: "page-2" })
      .resolves({ StackEvents: page2 });

    const error = (await followExecution(clients, "demo-pipeline", "exec-new", fast).catch((e: unknown) => e)) as Error;

    expect(error.message).toContain("Deploy › DeployService failed: Stack demo-service in ROLLBACK_COMPLETE state");
    expect(error.message).toContain(
      "first failed resource in demo-service: ListenerRule (ListenerRule): User: arn:aws:sts::123456789012:assumed-role/demo-pipeline-DeployRole/x is not authorized to perform: elasticloadbalancing:AddTags",
    );
    expect(error.message).not.toContain("older release");
    expect(cfnMock.commandCalls(DescribeStackEventsCommand)).toHaveLength(2);
  });
});
