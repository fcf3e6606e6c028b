// CloudFormation stacks: deploy (create, update, or recreate after a failed
// first create) and delete, idempotently, waiting with the SDK's waiters.
// Templates are files in infra/; this module passes parameters and tags only.
import { readFile } from "node:fs/promises";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import {
  type Capability,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  UpdateStackCommand,
  waitUntilStackCreateComplete,
  waitUntilStackDeleteComplete,
  waitUntilStackUpdateComplete,
} from "@aws-sdk/client-cloudformation";
import { StepError } from "../errors.ts";

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
}

export interface DeployResult {
  readonly stackId: string;
  readonly action: "created" | "updated" | "unchanged";
  readonly outputs: Readonly<Record<string, string>>;
}

/** A stack in one of these must be deleted before it can be created again. */
const DEAD_STATES = new Set(["ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"]);

function waiterConfig(client: CloudFormationClient, options: DeployOptions) {
  const poll = options.pollSeconds ?? 5;
  return { client, maxWaitTime: options.maxWaitSeconds ?? 1800, minDelay: poll, maxDelay: Math.max(poll, poll * 4) };
}

export async function describeStack(client: CloudFormationClient, name: string): Promise<Stack | undefined> {
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: name }));
    const stack = Stacks?.[0];
    return stack?.StackStatus === "DELETE_COMPLETE" ? undefined : stack;
  } catch (error) {
    if (error instanceof Error && /does not exist/.test(error.message)) return undefined;
    throw error;
  }
}

export function outputsOf(stack: Stack | undefined): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const o of stack?.Outputs ?? [])
    if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
  return outputs;
}

/** The reasons CloudFormation gave for failed resources, newest first. */
async function failureReasons(client: CloudFormationClient, name: string): Promise<string> {
  try {
    const { StackEvents } = await client.send(new DescribeStackEventsCommand({ StackName: name }));
    const failed = (StackEvents ?? [])
      .filter((e) => e.ResourceStatus?.endsWith("FAILED") && e.ResourceStatusReason)
      .slice(0, 5)
      .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
    return failed.length > 0 ? failed.join("\n") : "CloudFormation gave no reason";
  } catch {
    return "CloudFormation gave no reason";
  }
}

async function settle(client: CloudFormationClient, stack: Stack, options: DeployOptions): Promise<Stack | undefined> {
  const status = stack.StackStatus ?? "";
  if (!status.endsWith("_IN_PROGRESS")) return stack;
  options.onNotice?.(`${stack.StackName} is busy (${status}); waiting for it to finish first`);
  const config = waiterConfig(client, options);
  const name = stack.StackName ?? "";
  if (status.startsWith("DELETE"))
    await waitUntilStackDeleteComplete(config, { StackName: name }).catch(() => undefined);
  else if (status.startsWith("CREATE"))
    await waitUntilStackCreateComplete(config, { StackName: name }).catch(() => undefined);
  else await waitUntilStackUpdateComplete(config, { StackName: name }).catch(() => undefined);
  return describeStack(client, name);
}

export async function deleteStack(
  client: CloudFormationClient,
  name: string,
  options: DeployOptions = {},
): Promise<boolean> {
  const stack = await describeStack(client, name);
  if (!stack) return false;
  await client.send(new DeleteStackCommand({ StackName: stack.StackId ?? name }));
  try {
    await waitUntilStackDeleteComplete(waiterConfig(client, options), { StackName: stack.StackId ?? name });
  } catch (error) {
    throw new StepError(
      `Deleting stack ${name} failed:\n${await failureReasons(client, stack.StackId ?? name)}`,
      "Run the command again; if it fails the same way, delete what the reason names by hand, then run it again.",
      error,
    );
  }
  return true;
}

export async function deployStack(
  client: CloudFormationClient,
  spec: StackSpec,
  options: DeployOptions = {},
): Promise<DeployResult> {
  const body = await readFile(spec.templateFile, "utf8");
  const request = {
    StackName: spec.name,
    TemplateBody: body,
    Parameters: Object.entries(spec.parameters).map(([ParameterKey, ParameterValue]) => ({
      ParameterKey,
      ParameterValue,
    })),
    Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
    Capabilities: spec.capabilities ? [...spec.capabilities] : undefined,
  };

  let existing = await describeStack(client, spec.name);
  if (existing) existing = await settle(client, existing, options);
  // The emulator leaves a failed create in CREATE_IN_PROGRESS for good; on AWS
  // a create still in progress after the whole wait is just as stuck.
  const stuck = existing?.StackStatus === "CREATE_IN_PROGRESS";
  if (existing && (DEAD_STATES.has(existing.StackStatus ?? "") || stuck)) {
    options.onNotice?.(
      `${spec.name} is in ${existing.StackStatus} from an earlier failed attempt; deleting it and creating it again`,
    );
    await deleteStack(client, spec.name, options);
    existing = undefined;
  }

  const config = waiterConfig(client, options);
  let action: DeployResult["action"];
  let stackId: string;
  try {
    if (!existing) {
      const created = await client.send(new CreateStackCommand({ ...request, OnFailure: "ROLLBACK" }));
      stackId = created.StackId ?? spec.name;
      action = "created";
      await waitUntilStackCreateComplete(config, { StackName: stackId });
    } else {
      stackId = existing.StackId ?? spec.name;
      try {
        await client.send(new UpdateStackCommand(request));
      } catch (error) {
        if (error instanceof Error && /No updates are to be performed/.test(error.message)) {
          return { stackId, action: "unchanged", outputs: outputsOf(existing) };
        }
        throw error;
      }
      action = "updated";
      await waitUntilStackUpdateComplete(config, { StackName: stackId });
    }
  } catch (error) {
    // A refused request (template or parameter error) has its reason in the error itself.
    const refused =
      error instanceof Error && error.name !== "TimeoutError" && !/waiter|state/i.test(error.message)
        ? error.message
        : "";
    const reasons = refused || (await failureReasons(client, spec.name));
    throw new StepError(
      `Stack ${spec.name} could not be deployed from ${spec.templateFile}:\n${reasons}`,
      "Fix what the reason names, then run the step again: a failed first create is cleaned up automatically.",
      error,
    );
  }
  return { stackId, action, outputs: outputsOf(await describeStack(client, stackId)) };
}
