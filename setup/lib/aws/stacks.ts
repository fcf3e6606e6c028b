// CloudFormation stacks: deploy through a change set (create or update; "no
// changes" is success) with live progress from stack events, and delete,
// idempotently. Every wait follows one rule: poll until the stack's status no
// longer ends in _IN_PROGRESS, then judge where it ended (the SDK's waiters
// each match only their own final states, so one of them waiting on a
// rollback never ends). A stack left failed by an earlier attempt is deleted
// and created again. Templates are files in infra/; this module passes
// parameters and tags only.
import { readFile } from "node:fs/promises";
import {
  type Capability,
  type CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  type Stack,
  type StackEvent,
  waitUntilChangeSetCreateComplete,
} from "@aws-sdk/client-cloudformation";
import { checkExceptions, createWaiter, WaiterState } from "@smithy/util-waiter";
import { StepError } from "../errors.ts";
import { type ResourceLine, StackProgress } from "./stack-events.ts";
import { parseTemplate, resourceDescriptions } from "./templates.ts";

export interface StackSpec {
  readonly name: string;
  /** Path of a template in infra/. */
  readonly templateFile: string;
  readonly parameters: Readonly<Record<string, string>>;
  /** Stack tags; CloudFormation copies them to every resource that takes tags. */
  readonly tags: Readonly<Record<string, string>>;
  readonly capabilities?: readonly Capability[];
}

export interface DeployOptions {
  /** Longest wait for one create, update or delete. */
  readonly maxWaitSeconds?: number;
  /** Seconds between status checks: short against an emulator, longer against AWS. */
  readonly pollSeconds?: number;
  /** Told about anything done besides the plain deploy (e.g. a failed stack removed first). */
  readonly onNotice?: (message: string) => void;
  /** Called as events arrive, with the new events (oldest first). */
  readonly onProgress?: (progress: StackProgress, fresh: readonly ResourceLine[]) => void;
  /**
   * How a change reaches CloudFormation: change sets (the default, what AWS
   * gets) or another way, e.g. the emulator's (setup/lib/local/cloudformation/direct.ts).
   */
  readonly operations?: StackOperations;
}

export interface DeployResult {
  readonly stackId: string;
  readonly action: "created" | "updated" | "unchanged";
  readonly outputs: Readonly<Record<string, string>>;
}

/** The request for a stack's change, as the API takes it (CreateStack, UpdateStack, CreateChangeSet). */
export interface StackRequest {
  readonly StackName: string;
  readonly TemplateBody: string;
  readonly Parameters: Array<{ ParameterKey: string; ParameterValue: string }>;
  readonly Tags: Array<{ Key: string; Value: string }>;
  readonly Capabilities: Capability[] | undefined;
}

/** A change under way: its kind, the stack, and the progress display fed while it runs. */
interface Requested {
  readonly type: "CREATE" | "UPDATE";
  readonly stackId: string;
  readonly progress: StackProgress;
}

export interface StackOperations {
  /**
   * Asks for the change and has it start; resolves with the stack's id and
   * the number of resource changes to expect (for the progress display), or
   * undefined when an update would change nothing. Throws AWS's refusal.
   */
  start(
    client: CloudFormationClient,
    request: StackRequest,
    type: "CREATE" | "UPDATE",
    options: DeployOptions,
  ): Promise<{ stackId: string | undefined; changes: number | undefined } | undefined>;
  /** Operations end the moment they are requested, or never (the emulator): a busy stack is not waited for. */
  readonly endAtOnce: boolean;
}

/** Through a change set: CreateChangeSet, wait until it is ready, ExecuteChangeSet ("no changes" is success). */
export const changeSetOperations: StackOperations = {
  endAtOnce: false,
  async start(client, request, type, options) {
    const changeSetName = `aws-cicd-lab-${Date.now()}`;
    const created = await client.send(
      new CreateChangeSetCommand({ ...request, ChangeSetName: changeSetName, ChangeSetType: type }),
    );
    const stackId = created.StackId ?? request.StackName;
    const ref = { StackName: stackId, ChangeSetName: changeSetName };
    await waitUntilChangeSetCreateComplete(waiterConfig(client, options), ref).catch(() => undefined);
    const changeSet = await client.send(new DescribeChangeSetCommand(ref));
    const empty = type === "UPDATE" && changeSet.Status === "CREATE_COMPLETE" && (changeSet.Changes ?? []).length === 0;
    if (empty || (changeSet.Status === "FAILED" && NO_CHANGES.test(changeSet.StatusReason ?? ""))) {
      await client.send(new DeleteChangeSetCommand(ref)).catch(() => undefined);
      return undefined;
    }
    if (changeSet.Status !== "CREATE_COMPLETE")
      throw new Error(changeSet.StatusReason ?? `the change set ended in ${changeSet.Status}`);
    await client.send(new ExecuteChangeSetCommand(ref));
    return { stackId, changes: (changeSet.Changes ?? []).length };
  },
};

const operationsOf = (options: DeployOptions): StackOperations => options.operations ?? changeSetOperations;

/** A stack in one of these must be deleted before it can be created again. */
const DEAD_STATES = new Set([
  "ROLLBACK_COMPLETE",
  "ROLLBACK_FAILED",
  "CREATE_FAILED",
  "DELETE_FAILED",
  "REVIEW_IN_PROGRESS",
]);

function waiterConfig(client: CloudFormationClient, options: DeployOptions) {
  const poll = options.pollSeconds ?? 5;
  return { client, maxWaitTime: options.maxWaitSeconds ?? 1800, minDelay: poll, maxDelay: Math.max(poll, poll * 3) };
}

/** What CloudFormation says of an update that changes nothing. */
export const NO_CHANGES = /didn't contain changes|No updates are to be performed/;

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
async function watch<T>(
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
async function failureReason(client: CloudFormationClient, stackId: string, progress: StackProgress): Promise<string> {
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
const isBusy = (status: string | undefined): boolean =>
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

/**
 * Waits for an operation in progress on the stack to end. A create in progress
 * (one an earlier step started without waiting, e.g. step 01 starting the
 * environment) is followed with progress from its events. Where operations
 * end at once or never (the emulator: a failed create stays
 * CREATE_IN_PROGRESS), there is nothing to wait for.
 */
async function settle(
  client: CloudFormationClient,
  stack: Stack,
  options: DeployOptions,
  descriptions: Readonly<Record<string, string>> = {},
): Promise<Stack | undefined> {
  const status = stack.StackStatus ?? "";
  if (!isBusy(status) || operationsOf(options).endAtOnce) return stack;
  const name = stack.StackId ?? stack.StackName ?? "";
  if (status === "CREATE_IN_PROGRESS") {
    options.onNotice?.(`${stack.StackName} is already being created; following it to the end`);
    const since = stack.CreationTime ?? new Date();
    const progress = new StackProgress(stack.StackName ?? name, descriptions, Object.keys(descriptions).length, since);
    return watch(client, name, progress, options, waitUntilStackSettled(client, name, options));
  }
  options.onNotice?.(`${stack.StackName} is busy (${status}); waiting for it to finish first`);
  return waitUntilStackSettled(client, name, options);
}

export async function deleteStack(
  client: CloudFormationClient,
  name: string,
  options: DeployOptions = {},
): Promise<boolean> {
  let stack = await describeStack(client, name);
  // A stack still being created, updated or rolled back (a release the pipeline started) cannot be
  // deleted until that ends: wait for it.
  if (stack) stack = await settle(client, stack, options);
  if (!stack) return false;
  const stackId = stack.StackId ?? name;
  const progress = new StackProgress(name, {}, 0, new Date());
  await client.send(new DeleteStackCommand({ StackName: stackId }));
  const ended = await watch(client, stackId, progress, options, waitUntilStackSettled(client, stackId, options));
  if (ended)
    throw new StepError(
      `Deleting stack ${name} failed (${ended.StackStatus}): ${await failureReason(client, stackId, progress)}`,
      "Run teardown again; if it fails the same way, delete what the reason names by hand, then run teardown again.",
    );
  return true;
}

/**
 * Phase 1 of a deploy: asks CloudFormation for the change and has it start.
 * Undefined when an update would change nothing. A refusal is a template or
 * parameter problem.
 */
/** A template file's text and its resources' descriptions (for progress lines), read once per deploy. */
async function readTemplate(file: string): Promise<{ body: string; descriptions: Record<string, string> }> {
  const body = await readFile(file, "utf8");
  return { body, descriptions: resourceDescriptions(parseTemplate(body)) };
}

async function requestDeploy(
  client: CloudFormationClient,
  spec: StackSpec,
  { body, descriptions }: { body: string; descriptions: Record<string, string> },
  existing: Stack | undefined,
  options: DeployOptions,
): Promise<Requested | undefined> {
  const type = existing ? "UPDATE" : "CREATE";
  const started = new Date();
  let stackId = existing?.StackId ?? spec.name;
  const request: StackRequest = {
    StackName: spec.name,
    TemplateBody: body,
    Parameters: Object.entries(spec.parameters).map(([ParameterKey, ParameterValue]) => ({
      ParameterKey,
      ParameterValue,
    })),
    Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
    Capabilities: spec.capabilities ? [...spec.capabilities] : undefined,
  };
  try {
    const begun = await operationsOf(options).start(client, request, type, options);
    if (!begun) return undefined;
    stackId = begun.stackId ?? stackId;
    const expected = begun.changes ?? Object.keys(descriptions).length;
    return { type, stackId, progress: new StackProgress(spec.name, descriptions, expected, started) };
  } catch (error) {
    throw new StepError(
      `Stack ${spec.name} could not be deployed from ${spec.templateFile}: ${(error as Error).message}`,
      "Check the parameters and the template (npm run lint:cfn), then run the same command again.",
      error,
    );
  }
}

/**
 * Starts creating a stack that does not exist yet, without waiting for it; a
 * later deployStack of the same spec follows it to the end. False when the
 * stack already exists (deployStack then deals with it in whatever state).
 */
export async function startStack(
  client: CloudFormationClient,
  spec: StackSpec,
  options: DeployOptions = {},
): Promise<boolean> {
  if (await describeStack(client, spec.name)) return false;
  await requestDeploy(client, spec, await readTemplate(spec.templateFile), undefined, options);
  return true;
}

export async function deployStack(
  client: CloudFormationClient,
  spec: StackSpec,
  options: DeployOptions = {},
): Promise<DeployResult> {
  const template = await readTemplate(spec.templateFile);
  let existing = await describeStack(client, spec.name);
  // A create an earlier step started (startStack) is this deploy's create.
  const followsCreate = existing?.StackStatus === "CREATE_IN_PROGRESS" && !operationsOf(options).endAtOnce;
  if (existing) existing = await settle(client, existing, options, template.descriptions);
  if (followsCreate && existing && DEAD_STATES.has(existing.StackStatus ?? "")) {
    const stackId = existing.StackId ?? spec.name;
    const since = existing.CreationTime ?? new Date(0);
    throw new StepError(
      `Stack ${spec.name} could not be created: ${await failureReason(client, stackId, new StackProgress(spec.name, {}, 0, since))}`,
      "Fix what the reason names and run the same command again: the failed stack is removed and created again.",
    );
  }
  // The emulator leaves a failed create in CREATE_IN_PROGRESS for good; on AWS
  // a create still in progress after the whole wait is just as stuck.
  if (existing && (DEAD_STATES.has(existing.StackStatus ?? "") || existing.StackStatus === "CREATE_IN_PROGRESS")) {
    options.onNotice?.(
      `${spec.name} is in ${existing.StackStatus} from an earlier attempt; deleting it and creating it again`,
    );
    await deleteStack(client, spec.name, options);
    existing = undefined;
  }

  const requested = await requestDeploy(client, spec, template, existing, options);
  if (!requested) {
    const action = followsCreate && existing?.StackStatus === "CREATE_COMPLETE" ? "created" : "unchanged";
    return { stackId: existing?.StackId ?? spec.name, action, outputs: outputsOf(existing) };
  }
  const { type, stackId, progress } = requested;

  // Phase 2: wait for it, showing progress. Any other end than the one wanted (a rollback, a failure)
  // is a resource that could not be made.
  const ended = await watch(client, stackId, progress, options, waitUntilStackSettled(client, stackId, options));
  if (ended?.StackStatus !== `${type}_COMPLETE`)
    throw new StepError(
      `Stack ${spec.name} could not be ${type === "CREATE" ? "created" : "updated"}: ${await failureReason(client, stackId, progress)}`,
      type === "CREATE"
        ? "Fix what the reason names and run the same command again: the failed stack is removed and created again."
        : "Fix what the reason names and run the same command again: CloudFormation has rolled the stack back to its last working state.",
    );
  return { stackId, action: type === "CREATE" ? "created" : "updated", outputs: outputsOf(ended) };
}

/**
 * A prefix is taken when a stack with one of its names exists but was not made
 * by this workshop (it lacks the prefix tag): deploying would change someone
 * else's stack, and teardown would delete it.
 */
export async function stacksNotOurs(
  client: CloudFormationClient,
  names: readonly string[],
  tagKey: string,
): Promise<string[]> {
  const found = await Promise.all(names.map((name) => describeStack(client, name)));
  return found
    .filter((s): s is Stack => s !== undefined)
    .filter((s) => !(s.Tags ?? []).some((t) => t.Key === tagKey))
    .map((s) => s.StackName ?? "?");
}
