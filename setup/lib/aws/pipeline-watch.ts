// Following a pipeline run on AWS: find the execution for exactly one source
// revision (not an older run), follow it stage by stage, and on failure say
// which action failed, why, and what the failing build printed last.
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { BatchGetBuildsCommand, DescribeTestCasesCommand, type CodeBuildClient } from "@aws-sdk/client-codebuild";
import {
  type CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  StartPipelineExecutionCommand,
  type StageState,
} from "@aws-sdk/client-codepipeline";
import { checkExceptions, createWaiter, WaiterState } from "@smithy/util-waiter";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { StepError } from "../errors.ts";
import { type ActionFailure, failureLines, type StageLine } from "../ui/pipeline-progress.ts";
import { isBusy } from "./stack-watch.ts";
import { deleteStack, describeStack, firstFailedResource, waitUntilStackSettled } from "./stacks.ts";

export interface WatchOptions {
  readonly maxWaitSeconds: number;
  readonly minDelaySeconds?: number;
  readonly maxDelaySeconds?: number;
  readonly signal?: AbortSignal;
}

export interface WatchClients {
  readonly cp: CodePipelineClient;
  readonly cb: CodeBuildClient;
  readonly logs: CloudWatchLogsClient;
  readonly cfn: CloudFormationClient;
}

export type { StageLine } from "../ui/pipeline-progress.ts";

function waiter(options: WatchOptions) {
  return {
    client: undefined,
    maxWaitTime: options.maxWaitSeconds,
    minDelay: options.minDelaySeconds ?? 5,
    maxDelay: options.maxDelaySeconds ?? 15,
    ...(options.signal ? { abortSignal: options.signal } : {}),
  };
}

export interface FoundExecution {
  readonly id: string;
  /** InProgress, Succeeded, Failed, Stopped, Superseded, … as CodePipeline reports it. */
  readonly status: string;
}

/** Waits for the run that builds exactly `revisionId` (a commit id or an S3 object version) and returns it. */
export async function findExecution(
  cp: CodePipelineClient,
  pipelineName: string,
  revisionId: string,
  options: WatchOptions,
): Promise<FoundExecution> {
  let found: FoundExecution | undefined;
  const result = await createWaiter(waiter(options), pipelineName, async () => {
    const { pipelineExecutionSummaries } = await cp.send(
      new ListPipelineExecutionsCommand({ pipelineName, maxResults: 20 }),
    );
    const hit = pipelineExecutionSummaries?.find((e) => e.sourceRevisions?.some((r) => r.revisionId === revisionId));
    found = hit?.pipelineExecutionId ? { id: hit.pipelineExecutionId, status: hit.status ?? "InProgress" } : undefined;
    return { state: found ? WaiterState.SUCCESS : WaiterState.RETRY, reason: found };
  });
  try {
    checkExceptions(result);
  } catch (error) {
    throw new StepError(
      `No run of ${pipelineName} for revision ${revisionId} started within ${options.maxWaitSeconds} s.`,
      "Check the pipeline's trigger (EventBridge rule) in the console, or start the pipeline by hand, then run the same command again.",
      error,
    );
  }
  return found as FoundExecution;
}

/** Runs that ended without deploying: following one again would only report its old failure. */
const ENDED_BADLY = new Set(["Failed", "Stopped", "Stopping", "Cancelled", "Superseded"]);

/**
 * Starts a new run of the pipeline for exactly this source revision (the
 * source action's revision override), e.g. after the run found for it failed
 * and its cause (a quota, a missing service-linked role) has been fixed.
 */
async function startExecution(
  cp: CodePipelineClient,
  pipelineName: string,
  source: { readonly provider: "CodeCommit" | "S3"; readonly revision: string },
): Promise<string> {
  const { pipelineExecutionId } = await cp.send(
    new StartPipelineExecutionCommand({
      name: pipelineName,
      sourceRevisions: [
        {
          actionName: "Source",
          revisionType: source.provider === "CodeCommit" ? "COMMIT_ID" : "S3_OBJECT_VERSION_ID",
          revisionValue: source.revision,
        },
      ],
    }),
  );
  if (!pipelineExecutionId) throw new StepError(`${pipelineName} did not start.`, "Start it in the console.");
  return pipelineExecutionId;
}

/**
 * A service stack whose first create failed sits in ROLLBACK_COMPLETE, where
 * CloudFormation allows only a delete. The Deploy action's REPLACE_ON_FAILURE
 * is documented both ways for that state (the CodePipeline action reference
 * leaves ROLLBACK_COMPLETE out of the states it replaces; CloudFormation's
 * guide lists it), so the stack is deleted before the release goes on.
 * Returns whether it was.
 */
export async function clearFailedServiceStack(
  cfn: CloudFormationClient,
  stackName: string,
  options: WatchOptions & { readonly onNotice?: (text: string) => void },
): Promise<boolean> {
  const stack = await describeStack(cfn, stackName);
  if (stack?.StackStatus !== "ROLLBACK_COMPLETE") return false;
  options.onNotice?.(
    `${stackName} is in ROLLBACK_COMPLETE (its first deploy failed), where only a delete is possible: deleting it so the Deploy stage can create it again`,
  );
  await deleteStack(cfn, stackName, {
    maxWaitSeconds: options.maxWaitSeconds,
    pollSeconds: options.minDelaySeconds ?? 5,
  });
  return true;
}

/**
 * The release of one source revision, followed to its end: the run that
 * builds it (a new one when that run already failed), stage by stage. A
 * service stack a failed first deploy left in ROLLBACK_COMPLETE is deleted
 * first, so the Deploy stage can create it.
 */
export async function releaseRevision(
  clients: WatchClients,
  pipelineName: string,
  source: { readonly provider: "CodeCommit" | "S3"; readonly revision: string },
  options: WatchOptions & {
    readonly serviceStack: string;
    readonly onStages?: (executionId: string, lines: StageLine[]) => void;
    readonly onRestart?: (oldId: string, status: string, newId: string) => void;
    readonly onNotice?: (text: string) => void;
  },
): Promise<string> {
  const found = await findExecution(clients.cp, pipelineName, source.revision, { ...options, maxWaitSeconds: 300 });
  let executionId = found.id;
  await clearFailedServiceStack(clients.cfn, options.serviceStack, options);
  if (ENDED_BADLY.has(found.status)) {
    // A run stopped while its Deploy stage's stack was rolling back (an interrupted lesson): CloudFormation
    // refuses a new update until that ends, so the new run waits for it rather than failing at once.
    const service = await describeStack(clients.cfn, options.serviceStack);
    if (isBusy(service?.StackStatus)) {
      options.onNotice?.(
        `${options.serviceStack} is ${service?.StackStatus}: waiting for it to finish before starting the run again`,
      );
      await waitUntilStackSettled(clients.cfn, options.serviceStack, {
        maxWaitSeconds: options.maxWaitSeconds,
        pollSeconds: options.minDelaySeconds ?? 5,
      });
    }
    executionId = await startExecution(clients.cp, pipelineName, source);
    options.onRestart?.(found.id, found.status, executionId);
  }
  await followExecution(clients, pipelineName, executionId, {
    ...options,
    onStages: (lines) => options.onStages?.(executionId, lines),
  });
  return executionId;
}

/** Stage by stage, for the progress display. */
function stageLines(stages: readonly StageState[] | undefined, executionId: string): StageLine[] {
  return (stages ?? []).map((s) => ({
    name: s.stageName ?? "?",
    status: s.latestExecution?.pipelineExecutionId === executionId ? (s.latestExecution.status ?? "?") : "Waiting",
  }));
}

/** Follows a run until it ends; resolves when it succeeded, throws with the failure's details otherwise. */
export async function followExecution(
  clients: WatchClients,
  pipelineName: string,
  executionId: string,
  options: WatchOptions & { readonly onStages?: (lines: StageLine[]) => void },
): Promise<void> {
  let status = "InProgress";
  const result = await createWaiter(waiter(options), executionId, async () => {
    const [execution, state] = await Promise.all([
      clients.cp.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: executionId })),
      clients.cp.send(new GetPipelineStateCommand({ name: pipelineName })),
    ]);
    options.onStages?.(stageLines(state.stageStates, executionId));
    status = execution.pipelineExecution?.status ?? "InProgress";
    if (status === "Succeeded") return { state: WaiterState.SUCCESS, reason: status };
    if (["Failed", "Stopped", "Superseded", "Cancelled"].includes(status))
      return { state: WaiterState.FAILURE, reason: status };
    return { state: WaiterState.RETRY, reason: status };
  });
  if (result.state === WaiterState.SUCCESS) return;
  if (result.state === WaiterState.FAILURE) {
    throw new StepError(
      `The pipeline run ${executionId} ${status.toLowerCase()}:\n${await failureDetails(clients, pipelineName, executionId)}`,
      status === "Superseded"
        ? "A newer commit replaced this run; run the same command again to follow the newest one."
        : "Fix what the failing action reports, then run the same command again: it starts a new run of the same revision.",
    );
  }
  try {
    checkExceptions(result);
  } catch (error) {
    throw new StepError(
      `The pipeline run ${executionId} was still ${status} after ${options.maxWaitSeconds} s.`,
      "It is still running: follow it in the console, then run the same command again.",
      error,
    );
  }
}

/** The failed action's summary and, for a CodeBuild action, the last lines of its build log. */
async function failureDetails(
  clients: WatchClients,
  pipelineName: string,
  executionId: string,
  logLines = 20,
): Promise<string> {
  const { actionExecutionDetails } = await clients.cp.send(
    new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: executionId } }),
  );
  const failed = (actionExecutionDetails ?? []).find((a) => a.status === "Failed");
  if (!failed) return "No action reported a failure (the run may have been stopped or superseded).";
  const summary =
    failed.output?.executionResult?.externalExecutionSummary ??
    failed.output?.executionResult?.errorDetails?.message ??
    "";
  const failure: { -readonly [K in keyof ActionFailure]: ActionFailure[K] } = {
    stageName: failed.stageName ?? "?",
    actionName: failed.actionName ?? "?",
    ...(summary ? { summary } : {}),
  };
  // A CloudFormation action: the stack's own events say which resource failed and why, read with the
  // learner's credentials (CodePipeline's message is generic when its role cannot read them).
  const stackName = failed.input?.configuration?.StackName;
  if (failed.input?.actionTypeId?.provider === "CloudFormation" && stackName) {
    const since = failed.startTime ?? new Date(0);
    const first = await firstFailedResource(clients.cfn, stackName, since).catch(() => undefined);
    failure.stack = { name: stackName, ...(first ? { firstFailure: first } : {}) };
  }
  const buildId =
    failed.input?.actionTypeId?.provider === "CodeBuild"
      ? failed.output?.executionResult?.externalExecutionId
      : undefined;
  if (buildId) {
    const { builds } = await clients.cb.send(new BatchGetBuildsCommand({ ids: [buildId] }));
    // The failed cases' names are a help: without them (no report, no permission) the log lines still tell.
    const failedTests = await failedTestCases(clients, builds?.[0]?.reportArns ?? []).catch(() => []);
    if (failedTests.length > 0) failure.failedTests = failedTests;
    const where = builds?.[0]?.logs;
    if (where?.groupName && where.streamName) {
      const { events } = await clients.logs.send(
        new GetLogEventsCommand({
          logGroupName: where.groupName,
          logStreamName: where.streamName,
          limit: logLines,
          startFromHead: false,
        }),
      );
      failure.log = { source: where.groupName, lines: (events ?? []).map((e) => e.message ?? "") };
    }
  }
  const lines = failureLines(failure);
  return lines.join("\n");
}

/** The first failed test cases of a build's reports, as CodeBuild's report view lists them. */
async function failedTestCases(clients: WatchClients, reportArns: readonly string[], most = 5): Promise<string[]> {
  const found: string[] = [];
  for (const reportArn of reportArns) {
    const { testCases } = await clients.cb.send(
      new DescribeTestCasesCommand({ reportArn, filter: { status: "FAILED" }, maxResults: most }),
    );
    for (const t of testCases ?? []) {
      const message = (t.message ?? "").trim().split("\n")[0]?.slice(0, 200) ?? "";
      found.push(`${t.prefix ? `${t.prefix} › ` : ""}${t.name ?? "?"}${message ? `: ${message}` : ""}`);
    }
    if (found.length >= most) break;
  }
  return found.slice(0, most);
}
