// The stack-event renderer on event sequences shaped as DescribeStackEvents
// returns them: newest first, with the stack's own events (ResourceType
// AWS::CloudFormation::Stack, LogicalResourceId = stack name) mixed in,
// "Resource creation Initiated" reasons, and cancellation reasons on the
// resources CloudFormation stops because another one failed.
import type { StackEvent } from "@aws-sdk/client-cloudformation";
import { describe, expect, it } from "vitest";
import { StackProgress } from "../setup/lib/aws/stack-events.ts";
import { deployProgress, eventLine } from "../setup/lib/ui/stack-progress.ts";

const STACK = "demo-pipeline";
const STACK_ID = `arn:aws:cloudformation:eu-west-1:123456789012:stack/${STACK}/7d1e6a50-a8c5-11ef-9b8a-0a1b2c3d4e5f`;
const T0 = new Date("2026-11-21T10:00:00.000Z");
let n = 0;

/** One event as the API returns it; `s` seconds after T0. */
function ev(s: number, logicalId: string, type: string, status: string, reason?: string): StackEvent {
  n += 1;
  return {
    StackId: STACK_ID,
    EventId:
      logicalId === STACK
        ? `${n}a5f0c9e0-0000-4000-8000-00000000000${n % 10}`
        : `${logicalId}-${status}-2026-11-21T10:00:${String(s).padStart(2, "0")}.000Z`,
    StackName: STACK,
    LogicalResourceId: logicalId,
    PhysicalResourceId:
      logicalId === STACK ? STACK_ID : status.endsWith("IN_PROGRESS") && s < 2 ? "" : `${STACK}-${logicalId}-1ABCDEF`,
    ResourceType: type,
    Timestamp: new Date(+T0 + s * 1000),
    ResourceStatus: status,
    ...(reason ? { ResourceStatusReason: reason } : {}),
    ClientRequestToken: "Console-CreateChangeSet-aws-cicd-lab-1795300000000",
  } as StackEvent;
}

const descriptions = {
  Repository: "ECR repository for the app's images",
  TestLogGroup: "CloudWatch log group of the Test build",
  TestProject: "CodeBuild project running the app's lint and unit tests",
};

const newestFirst = (events: StackEvent[]) => [...events].reverse();

describe("stack progress on a successful create", () => {
  const events = newestFirst([
    ev(0, STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
    ev(1, "Repository", "AWS::ECR::Repository", "CREATE_IN_PROGRESS"),
    ev(1, "TestLogGroup", "AWS::Logs::LogGroup", "CREATE_IN_PROGRESS"),
    ev(2, "Repository", "AWS::ECR::Repository", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
    ev(2, "TestLogGroup", "AWS::Logs::LogGroup", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
    ev(3, "Repository", "AWS::ECR::Repository", "CREATE_COMPLETE"),
    ev(4, "TestLogGroup", "AWS::Logs::LogGroup", "CREATE_COMPLETE"),
    ev(5, "TestProject", "AWS::CodeBuild::Project", "CREATE_IN_PROGRESS"),
    ev(6, "TestProject", "AWS::CodeBuild::Project", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
    ev(7, "TestProject", "AWS::CodeBuild::Project", "CREATE_COMPLETE"),
    ev(8, STACK, "AWS::CloudFormation::Stack", "CREATE_COMPLETE"),
  ]);

  it("counts completed resources, ignores the stack's own events in the count, and ends complete", () => {
    const p = new StackProgress(STACK, descriptions, 3, T0);
    const fresh = p.ingest(events);
    expect(fresh).toHaveLength(11);
    expect(fresh[0]?.status).toBe("CREATE_IN_PROGRESS"); // oldest first
    expect(p.completed).toBe(3);
    expect(p.resourceCount).toBe(3);
    expect(p.status).toBe("CREATE_COMPLETE");
    expect(p.failure).toBeUndefined();
    expect(p.summary(new Date(+T0 + 65_000))).toBe("demo-pipeline 3/3 · 1m 05s · CREATE_COMPLETE");
  });

  it("shows what is in progress, by its description, while events arrive page by page", () => {
    const p = new StackProgress(STACK, descriptions, 3, T0);
    const all = events;
    // The first poll sees only the oldest six events (the newest are not there yet).
    p.ingest(all.slice(all.length - 6));
    expect(p.completed).toBe(1);
    expect(p.summary(new Date(+T0 + 3_000))).toBe(`demo-pipeline 1/3 · 3s · ${descriptions.TestLogGroup}`);
    // The next poll returns everything again; only new events are reported.
    expect(p.ingest(all)).toHaveLength(5);
    expect(p.completed).toBe(3);
  });

  it("skips events from an earlier operation on the same stack", () => {
    const p = new StackProgress(STACK, descriptions, 3, new Date(+T0 + 5_000));
    expect(p.ingest(events).map((l) => l.logicalId)).toEqual(["TestProject", "TestProject", "TestProject", STACK]);
  });

  it("writes one plain line per event", () => {
    const p = new StackProgress(STACK, descriptions, 3, T0);
    const lines = p.ingest(events).map(eventLine);
    expect(lines).toContain(`✓ ${descriptions.Repository} (CREATE_COMPLETE)`);
    expect(lines.at(-1)).toBe("✓ stack demo-pipeline (CREATE_COMPLETE)");
  });

  describe("the live display (deployProgress)", () => {
    it("on a terminal: the summary with one line per resource under it", () => {
      const p = new StackProgress(STACK, descriptions, 3, T0);
      const shown: string[] = [];
      const logged: string[] = [];
      deployProgress(
        true,
        (t) => shown.push(t),
        (t) => logged.push(t),
      )(p, p.ingest(events));
      const screen = (shown.at(-1) ?? "").split("\n");
      expect(screen[0]).toMatch(/^demo-pipeline 3\/3 · /);
      expect(screen.slice(1)).toEqual([
        `  ✓ ${descriptions.Repository} (CREATE_COMPLETE)`,
        `  ✓ ${descriptions.TestLogGroup} (CREATE_COMPLETE)`,
        `  ✓ ${descriptions.TestProject} (CREATE_COMPLETE)`,
      ]);
      expect(logged).toEqual([]); // nothing failed, so nothing stays on screen as a line
    });

    it("without a terminal: each resource's end as its own line, in the order it happened, and no summary", () => {
      const p = new StackProgress(STACK, descriptions, 3, T0);
      const logged: string[] = [];
      const shown: string[] = [];
      deployProgress(
        false,
        (t) => shown.push(t),
        (t) => logged.push(t),
      )(p, p.ingest(events));
      expect(logged).toEqual([
        `✓ ${descriptions.Repository} (CREATE_COMPLETE)`,
        `✓ ${descriptions.TestLogGroup} (CREATE_COMPLETE)`,
        `✓ ${descriptions.TestProject} (CREATE_COMPLETE)`,
        "✓ stack demo-pipeline (CREATE_COMPLETE)",
      ]);
      // A summary counted before the events it counts would read "0/3 · CREATE_COMPLETE" first.
      expect(shown).toEqual([]);
    });
  });
});

describe("stack progress on a failed create", () => {
  const reason =
    'Resource handler returned message: "Invalid request provided: CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::123456789012:role/demo-pipeline-TestProjectRole-X1Y2Z3" (RequestToken: 5b0f, HandlerErrorCode: InvalidRequest)';
  const events = newestFirst([
    ev(0, STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
    ev(1, "Repository", "AWS::ECR::Repository", "CREATE_IN_PROGRESS"),
    ev(1, "TestProject", "AWS::CodeBuild::Project", "CREATE_IN_PROGRESS"),
    ev(2, "TestProject", "AWS::CodeBuild::Project", "CREATE_FAILED", reason),
    ev(2, "Repository", "AWS::ECR::Repository", "CREATE_FAILED", "Resource creation cancelled"),
    ev(
      3,
      STACK,
      "AWS::CloudFormation::Stack",
      "ROLLBACK_IN_PROGRESS",
      "The following resource(s) failed to create: [Repository, TestProject]. Rollback requested by user.",
    ),
    ev(4, "Repository", "AWS::ECR::Repository", "DELETE_COMPLETE"),
    ev(4, "TestProject", "AWS::CodeBuild::Project", "DELETE_COMPLETE"),
    ev(5, STACK, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
  ]);

  it("reports the resource that failed for its own reason, not the one cancelled because of it", () => {
    const p = new StackProgress(STACK, descriptions, 2, T0);
    p.ingest(events);
    expect(p.failure).toMatchObject({ logicalId: "TestProject", description: descriptions.TestProject, reason });
    expect(p.status).toBe("ROLLBACK_COMPLETE");
    expect(p.completed).toBe(2); // deletions during rollback reach a final state too
  });

  it("prints the reason on the failing line", () => {
    const p = new StackProgress(STACK, descriptions, 2, T0);
    const failed = p
      .ingest(events)
      .filter((l) => l.status === "CREATE_FAILED")
      .map(eventLine);
    expect(failed[0]).toBe(`✗ ${descriptions.TestProject} (CREATE_FAILED) — ${reason}`);
  });
});

describe("stack progress on an update that rolls back", () => {
  const since = new Date(+T0 + 100_000);
  const events = newestFirst([
    ev(0, STACK, "AWS::CloudFormation::Stack", "CREATE_COMPLETE"),
    ev(100, STACK, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated"),
    ev(101, "TestProject", "AWS::CodeBuild::Project", "UPDATE_IN_PROGRESS"),
    ev(
      102,
      "TestProject",
      "AWS::CodeBuild::Project",
      "UPDATE_FAILED",
      'Resource handler returned message: "Project timeout must be between 5 and 2160 minutes"',
    ),
    ev(
      103,
      STACK,
      "AWS::CloudFormation::Stack",
      "UPDATE_ROLLBACK_IN_PROGRESS",
      "The following resource(s) failed to update: [TestProject].",
    ),
    ev(104, "TestProject", "AWS::CodeBuild::Project", "UPDATE_COMPLETE"),
    ev(105, STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
    ev(106, STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE"),
  ]);

  it("keeps the update's failure and ends in UPDATE_ROLLBACK_COMPLETE", () => {
    const p = new StackProgress(STACK, descriptions, 1, since);
    const fresh = p.ingest(events);
    expect(fresh.map((l) => l.status)[0]).toBe("UPDATE_IN_PROGRESS");
    expect(p.failure?.reason).toMatch(/Project timeout/);
    expect(p.status).toBe("UPDATE_ROLLBACK_COMPLETE");
  });
});
