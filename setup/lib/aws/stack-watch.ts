// Reading stacks and following their operations: a stack as CloudFormation
// describes it, the one waiting rule every wait follows (poll until the
// status no longer ends in _IN_PROGRESS, then judge where it ended: the SDK's
// waiters each match only their own final states, so one of them waiting on a
// rollback never ends), the events fed to the progress display while it waits,
// and the reason a failed operation gives.
import {
  type CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  type StackEvent,
} from "@aws-sdk/client-cloudformation";
import { checkExceptions, createWaiter, WaiterState } from "@smithy/util-waiter";
import { StepError } from "../errors.ts";
import { StackProgress } from "./stack-events.ts";
import type { DeployOptions } from "./stacks.ts";

export function waiterConfig(client: CloudFormationClient, options: DeployOptions) {
  const poll = options.pollSeconds ?? 5;
  return { client, maxWaitTime: options.maxWaitSeconds ?? 1800, minDelay: poll, maxDelay: Math.max(poll, poll * 3) };
}

const isMissing = (error: unknown) => error instanceof Error && /does not exist/.test(error.message);

export async function describeStack(client: CloudFormationClient, name: string): Promise<Stack | undefined> {
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: name }));
    const stack = Stacks?.[0];
    return stack?.StackStatus === "DELETE_COMPLETE" ? undefined : stack;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

export function outputsOf(stack: Stack | undefined): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const o of stack?.Outputs ?? [])
    if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
  return outputs;
}

/**
 * The stack's events (newest first) that `progress` has not seen, paging with
 * NextToken back to the last event it has seen or to the operation's start.
 */
async function newEvents(
  client: CloudFormationClient,
  stackId: string,
  progress: StackProgress,
): Promise<StackEvent[]> {
  const events: StackEvent[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: token }));
    for (const e of page.StackEvents ?? []) {
      if ((e.EventId && progress.hasSeen(e.EventId)) || (e.Timestamp && e.Timestamp < progress.startedAt))
        return events;
      events.push(e);
    }
    token = page.NextToken;
  } while (token);
  return events;
}

/**
 * Runs a waiter while feeding stack events to the progress display. Events
 * are fetched on the same cadence as the waiter's checks; the waiter alone
 * decides when the operation is over.
 */
export async function watch<T>(
  client: CloudFormationClient,
  stackId: string,
  progress: StackProgress,
  options: DeployOptions,
  waiting: Promise<T>,
): Promise<T> {
  const refresh = async () => {
    try {
      const fresh = progress.ingest(await newEvents(client, stackId, progress));
      options.onProgress?.(progress, fresh);
    } catch {
      // Progress is a display: a failed fetch is retried on the next tick.
    }
  };
  const timer = setInterval(() => void refresh(), (options.pollSeconds ?? 5) * 1000);
  try {
    const result = await waiting;
    await refresh();
    return result;
  } catch (error) {
    await refresh();
    throw error;
  } finally {
    clearInterval(timer);
  }
}

/**
 * The first resource that failed (for a reason of its own, not cancelled
 * because of another) in the stack's operations since `since`, as
 * "LogicalId (description): reason"; undefined when none did.
 */
export async function firstFailedResource(
  client: CloudFormationClient,
  stackName: string,
  since: Date,
  descriptions: Readonly<Record<string, string>> = {},
): Promise<string | undefined> {
  const progress = new StackProgress(stackName, descriptions, 0, since);
  progress.ingest(await newEvents(client, stackName, progress));
  const failed = progress.failure;
  return failed ? `${failed.logicalId} (${failed.description}): ${failed.reason}` : undefined;
}

/** The reason CloudFormation gave, from progress seen or, failing that, the stack's events. */
export async function failureReason(
  client: CloudFormationClient,
  stackId: string,
  progress: StackProgress,
): Promise<string> {
  const seen = progress.failure;
  if (seen) return `${seen.logicalId} (${seen.description}): ${seen.reason}`;
  try {
    const found = await firstFailedResource(client, stackId, progress.startedAt);
    if (found) return found;
    const stack = await describeStack(client, stackId);
    return stack?.StackStatusReason ?? `the stack ended in ${stack?.StackStatus ?? "an unknown state"}`;
  } catch {
    return "CloudFormation gave no reason";
  }
}

/** Whether an operation is under way: REVIEW_IN_PROGRESS (a change set never executed) is a resting state. */
export const isBusy = (status: string | undefined): boolean =>
  status !== undefined && status.endsWith("_IN_PROGRESS") && status !== "REVIEW_IN_PROGRESS";

/**
 * The one waiting rule: polls until the stack's status no longer ends in
 * _IN_PROGRESS (a create, update, rollback, cleanup, delete or import has
 * ended, whichever way) and returns the stack as it ended; undefined when it
 * is gone. Past the wait's limit it fails, saying what it waited for.
 */
export async function waitUntilStackSettled(
  client: CloudFormationClient,
  stackId: string,
  options: DeployOptions,
): Promise<Stack | undefined> {
  let last: Stack | undefined;
  const result = await createWaiter(waiterConfig(client, options), stackId, async () => {
    last = await describeStack(client, stackId);
    return { state: isBusy(last?.StackStatus) ? WaiterState.RETRY : WaiterState.SUCCESS, reason: last };
  });
  try {
    checkExceptions(result);
  } catch (error) {
    throw new StepError(
      `Stack ${last?.StackName ?? stackId} was still ${last?.StackStatus ?? "busy"} after ${options.maxWaitSeconds ?? 1800} s.`,
      "Look at the stack's events in the CloudFormation console, then run the same command again: it carries on from where the stack is.",
      error,
    );
  }
  return last;
}
