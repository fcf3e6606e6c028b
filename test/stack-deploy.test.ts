// The change-set deploy path of setup/lib/aws/stacks.ts, which only AWS takes
// (the emulator records no outputs for change sets, so the rehearsal deploys
// directly). CloudFormation is mocked with the shapes it returns:
// CreateChangeSet's Id/StackId, DescribeChangeSet's Status and Changes,
// DescribeStacks' StackStatus and Outputs, DescribeStackEvents newest first
// with NextToken.
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  type ResourceStatus,
  type StackEvent,
  type StackStatus,
} from "@aws-sdk/client-cloudformation";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { serviceError } from "./support/service-error.ts";
import { templateFile } from "../setup/lib/aws/naming.ts";
import { deleteStack, deployStack, type DeployOptions, startStack } from "../setup/lib/aws/stacks.ts";
import { StepError } from "../setup/lib/errors.ts";
import type { ResourceLine } from "../setup/lib/aws/stack-events.ts";

const cfn = mockClient(CloudFormationClient);
const client = new CloudFormationClient({
  region: "eu-west-1",
  credentials: { accessKeyId: "x", secretAccessKey: "y" },
});
const STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo-bucket/6f1e2d3c";
const spec = {
  name: "demo-bucket",
  templateFile: templateFile("bucket"),
  parameters: { Prefix: "demo" },
  tags: { "aws-cicd-lab:prefix": "demo" },
};

const stackAt = (status: string, outputs: Record<string, string> = {}) => ({
  Stacks: [
    {
      StackName: "demo-bucket",
      StackId: STACK_ID,
      StackStatus: status as StackStatus,
      CreationTime: new Date("2026-11-21T09:00:00Z"),
      Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
    },
  ],
});

let clock = Date.now();
function event(logicalId: string, status: string, reason?: string): StackEvent {
  clock += 1000;
  return {
    EventId: `${logicalId}-${status}-${clock}`,
    StackId: STACK_ID,
    StackName: "demo-bucket",
    LogicalResourceId: logicalId,
    ResourceType: logicalId === "demo-bucket" ? "AWS::CloudFormation::Stack" : "AWS::S3::Bucket",
    ResourceStatus: status as ResourceStatus,
    Timestamp: new Date(clock),
    ...(reason ? { ResourceStatusReason: reason } : {}),
  };
}

/** Events of one operation, newest first, split over two pages. */
function eventsInTwoPages(oldestFirst: StackEvent[]) {
  const newest = [...oldestFirst].reverse();
  const half = Math.ceil(newest.length / 2);
  cfn
    .on(DescribeStackEventsCommand, { StackName: STACK_ID, NextToken: undefined })
    .resolves({ StackEvents: newest.slice(0, half), NextToken: "older" })
    .on(DescribeStackEventsCommand, { StackName: STACK_ID, NextToken: "older" })
    .resolves({ StackEvents: newest.slice(half) });
}

function options(seen: ResourceLine[]): DeployOptions {
  return { pollSeconds: 1, maxWaitSeconds: 10, onProgress: (_p, fresh) => seen.push(...fresh) };
}

beforeEach(() => {
  cfn.reset();
  clock = Date.now();
});

describe("deployStack through a change set", () => {
  it("creates: CREATE change set with parameters and tags, executed, events read across pages, outputs returned", async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejectsOnce(serviceError("ValidationError", "Stack with id demo-bucket does not exist"))
      .resolves(stackAt("CREATE_COMPLETE", { BucketName: "demo-artifacts" }));
    cfn.on(CreateChangeSetCommand).resolves({ Id: "cs-1", StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({
      Status: "CREATE_COMPLETE",
      ExecutionStatus: "AVAILABLE",
      Changes: [
        { Type: "Resource", ResourceChange: { Action: "Add", LogicalResourceId: "ArtifactBucket" } },
        { Type: "Resource", ResourceChange: { Action: "Add", LogicalResourceId: "ArtifactBucketPolicy" } },
      ],
    });
    cfn.on(ExecuteChangeSetCommand).resolves({});
    eventsInTwoPages([
      event("demo-bucket", "CREATE_IN_PROGRESS"),
      event("ArtifactBucket", "CREATE_IN_PROGRESS"),
      event("ArtifactBucket", "CREATE_COMPLETE"),
      event("ArtifactBucketPolicy", "CREATE_COMPLETE"),
      event("demo-bucket", "CREATE_COMPLETE"),
    ]);
    const seen: ResourceLine[] = [];

    const result = await deployStack(client, spec, options(seen));

    expect(result).toEqual({ stackId: STACK_ID, action: "created", outputs: { BucketName: "demo-artifacts" } });
    const request = cfn.commandCalls(CreateChangeSetCommand)[0]?.args[0].input;
    expect(request).toMatchObject({
      StackName: "demo-bucket",
      ChangeSetType: "CREATE",
      Parameters: [{ ParameterKey: "Prefix", ParameterValue: "demo" }],
      Tags: [{ Key: "aws-cicd-lab:prefix", Value: "demo" }],
    });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
    // Both pages were read: the oldest event (on page two) reached the display, each once.
    expect(seen.map((l) => `${l.logicalId} ${l.status}`)).toEqual([
      "demo-bucket CREATE_IN_PROGRESS",
      "ArtifactBucket CREATE_IN_PROGRESS",
      "ArtifactBucket CREATE_COMPLETE",
      "ArtifactBucketPolicy CREATE_COMPLETE",
      "demo-bucket CREATE_COMPLETE",
    ]);
    expect(seen[1]?.description).toBe(
      "S3 bucket for pipeline artifacts and source.zip (versioned, encrypted, private)",
    );
  });

  it("updates an existing stack with an UPDATE change set", async () => {
    cfn
      .on(DescribeStacksCommand)
      .resolvesOnce(stackAt("CREATE_COMPLETE"))
      .resolves(stackAt("UPDATE_COMPLETE", { BucketName: "demo-artifacts" }));
    cfn.on(CreateChangeSetCommand).resolves({ Id: "cs-2", StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({
      Status: "CREATE_COMPLETE",
      Changes: [{ Type: "Resource", ResourceChange: { Action: "Modify", LogicalResourceId: "ArtifactBucket" } }],
    });
    cfn.on(ExecuteChangeSetCommand).resolves({});
    eventsInTwoPages([event("ArtifactBucket", "UPDATE_COMPLETE"), event("demo-bucket", "UPDATE_COMPLETE")]);

    const result = await deployStack(client, spec, options([]));

    expect(result.action).toBe("updated");
    expect(cfn.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.ChangeSetType).toBe("UPDATE");
  });

  it('treats "no changes" as success: the empty change set is deleted, never executed', async () => {
    cfn.on(DescribeStacksCommand).resolves(stackAt("UPDATE_COMPLETE", { BucketName: "demo-artifacts" }));
    cfn.on(CreateChangeSetCommand).resolves({ Id: "cs-3", StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({
      Status: "FAILED",
      StatusReason:
        "The submitted information didn't contain changes. Submit different information to create a change set.",
    });
    cfn.on(DeleteChangeSetCommand).resolves({});

    const result = await deployStack(client, spec, options([]));

    expect(result).toEqual({ stackId: STACK_ID, action: "unchanged", outputs: { BucketName: "demo-artifacts" } });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
    expect(cfn.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
  });

  it("fails with the first resource that failed for a reason of its own", async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejectsOnce(serviceError("ValidationError", "Stack with id demo-bucket does not exist"))
      .resolves(stackAt("ROLLBACK_COMPLETE"));
    cfn.on(CreateChangeSetCommand).resolves({ Id: "cs-4", StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({ Status: "CREATE_COMPLETE", Changes: [{ Type: "Resource" }] });
    cfn.on(ExecuteChangeSetCommand).resolves({});
    eventsInTwoPages([
      event("demo-bucket", "CREATE_IN_PROGRESS"),
      event("ArtifactBucket", "CREATE_FAILED", "demo-artifacts-123456789012-eu-west-1 already exists"),
      event("ArtifactBucketPolicy", "CREATE_FAILED", "Resource creation cancelled"),
      event("demo-bucket", "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [ArtifactBucket]."),
      event("demo-bucket", "ROLLBACK_COMPLETE"),
    ]);

    const error = (await deployStack(client, spec, options([])).catch((e: unknown) => e)) as StepError;

    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toBe(
      "Stack demo-bucket could not be created: ArtifactBucket (S3 bucket for pipeline artifacts and source.zip (versioned, encrypted, private)): demo-artifacts-123456789012-eu-west-1 already exists",
    );
    expect(error.hint).toMatch(/the failed stack is removed and created again/);
  });
});

describe("a create started early (startStack), then followed by deployStack", () => {
  it("startStack creates and executes the change set without waiting; an existing stack is left alone", async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejectsOnce(serviceError("ValidationError", "Stack with id demo-bucket does not exist"))
      .resolves(stackAt("CREATE_IN_PROGRESS"));
    cfn.on(CreateChangeSetCommand).resolves({ Id: "cs-5", StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({ Status: "CREATE_COMPLETE", Changes: [{ Type: "Resource" }] });
    cfn.on(ExecuteChangeSetCommand).resolves({});

    expect(await startStack(client, spec, options([]))).toBe(true);
    expect(cfn.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.ChangeSetType).toBe("CREATE");
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
    // Not waited for: one DescribeStacks (does it exist?), none polling for the end.
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(1);

    expect(await startStack(client, spec, options([]))).toBe(false);
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(1);
  });

  it("deployStack follows a create in progress with its events and reports it created", async () => {
    cfn
      .on(DescribeStacksCommand)
      .resolvesOnce(stackAt("CREATE_IN_PROGRESS"))
      .resolves(stackAt("CREATE_COMPLETE", { BucketName: "demo-artifacts" }));
    eventsInTwoPages([
      event("demo-bucket", "CREATE_IN_PROGRESS"),
      event("ArtifactBucket", "CREATE_COMPLETE"),
      event("demo-bucket", "CREATE_COMPLETE"),
    ]);
    cfn.on(CreateChangeSetCommand).resolves({ Id: "cs-6", StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({ Status: "CREATE_COMPLETE", Changes: [] });
    cfn.on(DeleteChangeSetCommand).resolves({});
    const seen: ResourceLine[] = [];
    const notices: string[] = [];
    // Events are timed from the stack's creation, which the mock puts in the past.
    const result = await deployStack(client, spec, { ...options(seen), onNotice: (n) => notices.push(n) });

    expect(result).toEqual({ stackId: STACK_ID, action: "created", outputs: { BucketName: "demo-artifacts" } });
    expect(notices).toEqual(["demo-bucket is already being created; following it to the end"]);
    expect(seen.map((l) => `${l.logicalId} ${l.status}`)).toContain("ArtifactBucket CREATE_COMPLETE");
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it("a followed create that failed is reported with its reason, not silently made again", async () => {
    cfn.on(DescribeStacksCommand).resolvesOnce(stackAt("CREATE_IN_PROGRESS")).resolves(stackAt("ROLLBACK_COMPLETE"));
    eventsInTwoPages([
      event("demo-bucket", "CREATE_IN_PROGRESS"),
      event("ArtifactBucket", "CREATE_FAILED", "You have reached the VPC quota"),
      event("demo-bucket", "ROLLBACK_COMPLETE"),
    ]);

    const error = (await deployStack(client, spec, options([])).catch((e: unknown) => e)) as StepError;

    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toMatch(
      /^Stack demo-bucket could not be created: ArtifactBucket \(.*\): You have reached the VPC quota$/,
    );
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });
});

describe("every stack wait ends, whatever the operation under way", () => {
  const gone = serviceError("ValidationError", "Stack with id demo-bucket does not exist");
  const emptyEvents = () => cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
  const changeSet = () => {
    cfn.on(CreateChangeSetCommand).resolves({ Id: "cs-w", StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({ Status: "CREATE_COMPLETE", Changes: [{ Type: "Resource" }] });
    cfn.on(ExecuteChangeSetCommand).resolves({});
  };

  it("deletes a stack rolling back once the rollback has ended (ROLLBACK_IN_PROGRESS → ROLLBACK_COMPLETE)", async () => {
    emptyEvents();
    cfn
      .on(DescribeStacksCommand)
      .resolvesOnce(stackAt("ROLLBACK_IN_PROGRESS"))
      .resolvesOnce(stackAt("ROLLBACK_IN_PROGRESS"))
      .resolvesOnce(stackAt("ROLLBACK_COMPLETE"))
      .resolvesOnce(stackAt("DELETE_IN_PROGRESS"))
      .resolves(stackAt("DELETE_COMPLETE"));
    cfn.on(DeleteStackCommand).resolves({});
    const notices: string[] = [];

    expect(await deleteStack(client, "demo-bucket", { ...options([]), onNotice: (n) => notices.push(n) })).toBe(true);
    expect(notices).toEqual(["demo-bucket is busy (ROLLBACK_IN_PROGRESS); waiting for it to finish first"]);
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(1);
  });

  it.each([
    ["UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"],
    ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"],
    ["IMPORT_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_COMPLETE"],
    ["UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"],
  ])("updates a stack found in %s once it reaches %s", async (busy, settled) => {
    emptyEvents();
    changeSet();
    cfn
      .on(DescribeStacksCommand)
      .resolvesOnce(stackAt(busy))
      .resolvesOnce(stackAt(busy))
      .resolvesOnce(stackAt(settled))
      .resolvesOnce(stackAt("UPDATE_IN_PROGRESS"))
      .resolves(stackAt("UPDATE_COMPLETE"));

    expect((await deployStack(client, spec, options([]))).action).toBe("updated");
    expect(cfn.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.ChangeSetType).toBe("UPDATE");
  });

  it("deletes, with a notice, a stack whose create rolled back while waited for, and creates it again", async () => {
    emptyEvents();
    changeSet();
    cfn.on(DeleteStackCommand).resolves({});
    cfn
      .on(DescribeStacksCommand)
      .resolvesOnce(stackAt("ROLLBACK_IN_PROGRESS"))
      .resolvesOnce(stackAt("ROLLBACK_COMPLETE"))
      // deleteStack: found, then gone
      .resolvesOnce(stackAt("ROLLBACK_COMPLETE"))
      .rejectsOnce(gone)
      // the create
      .resolvesOnce(stackAt("CREATE_IN_PROGRESS"))
      .resolves(stackAt("CREATE_COMPLETE"));
    const notices: string[] = [];

    const result = await deployStack(client, spec, { ...options([]), onNotice: (n) => notices.push(n) });

    expect(result.action).toBe("created");
    expect(notices).toEqual([
      "demo-bucket is busy (ROLLBACK_IN_PROGRESS); waiting for it to finish first",
      "demo-bucket is in ROLLBACK_COMPLETE from an earlier attempt; deleting it and creating it again",
    ]);
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(1);
    expect(cfn.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.ChangeSetType).toBe("CREATE");
  });

  it("creates a stack that was being deleted once it is gone", async () => {
    emptyEvents();
    changeSet();
    cfn
      .on(DescribeStacksCommand)
      .resolvesOnce(stackAt("DELETE_IN_PROGRESS"))
      .rejectsOnce(gone)
      .resolvesOnce(stackAt("CREATE_IN_PROGRESS"))
      .resolves(stackAt("CREATE_COMPLETE"));

    expect((await deployStack(client, spec, options([]))).action).toBe("created");
  });

  it("an update that rolls back (through the cleanup) fails with its reason when the rollback ends", async () => {
    changeSet();
    eventsInTwoPages([
      event("ArtifactBucket", "UPDATE_FAILED", "Access Denied"),
      event("demo-bucket", "UPDATE_ROLLBACK_IN_PROGRESS"),
    ]);
    cfn
      .on(DescribeStacksCommand)
      .resolvesOnce(stackAt("UPDATE_COMPLETE"))
      .resolvesOnce(stackAt("UPDATE_ROLLBACK_IN_PROGRESS"))
      .resolvesOnce(stackAt("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"))
      .resolves(stackAt("UPDATE_ROLLBACK_COMPLETE"));

    const error = (await deployStack(client, spec, options([])).catch((e: unknown) => e)) as StepError;
    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toMatch(/^Stack demo-bucket could not be updated: ArtifactBucket \(.*\): Access Denied$/);
  });

  it("a stack that never leaves an operation fails past the limit, saying what it waited for", async () => {
    cfn.on(DescribeStacksCommand).resolves(stackAt("UPDATE_ROLLBACK_IN_PROGRESS"));
    const started = performance.now();

    const error = (await deleteStack(client, "demo-bucket", { pollSeconds: 1, maxWaitSeconds: 2 }).catch(
      (e: unknown) => e,
    )) as StepError;
    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toBe("Stack demo-bucket was still UPDATE_ROLLBACK_IN_PROGRESS after 2 s.");
    expect(error.hint).toMatch(/run the same command again/);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });
});
