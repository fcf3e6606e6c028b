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
  DeleteStackCommand,
  type Stack,
} from "@aws-sdk/client-cloudformation";
import { StepError } from "../errors.ts";
import { type ResourceLine, StackProgress } from "./stack-events.ts";
import { operationsOf, type StackOperations, type StackRequest } from "./stack-operations.ts";
import { describeStack, failureReason, isBusy, outputsOf, waitUntilStackSettled, watch } from "./stack-watch.ts";
import { parseTemplate, resourceDescriptions } from "./templates.ts";

export { changeSetOperations, NO_CHANGES, type StackOperations, type StackRequest } from "./stack-operations.ts";
export { describeStack, firstFailedResource, outputsOf, waitUntilStackSettled } from "./stack-watch.ts";

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

/** A change under way: its kind, the stack, and the progress display fed while it runs. */
interface Requested {
  readonly type: "CREATE" | "UPDATE";
  readonly stackId: string;
  readonly progress: StackProgress;
}

/** A stack in one of these must be deleted before it can be created again. */
const DEAD_STATES = new Set([
  "ROLLBACK_COMPLETE",
  "ROLLBACK_FAILED",
  "CREATE_FAILED",
  "DELETE_FAILED",
  "REVIEW_IN_PROGRESS",
]);

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
